import XCTest
import FlowGen

/// Replay buffers in checkpoints: a trainer saved with a (wrapped-around) buffer of every kind and loaded
/// back continues bit-for-bit like the original; malformed replay records are refused as corrupt.
final class ReplayCheckpointTests: XCTestCase {
    func trainer(_ kind: ReplayKind, environment: DiscreteEnvironment) -> GFlowNetTrainer {
        var c = GFlowNetTrainer.Configuration()
        c.seed = 5; c.hiddenWidth = 16; c.batchSize = 8
        let t = GFlowNetTrainer(environment: environment, configuration: c)
        t.replay = ReplayBuffer(ReplayConfiguration(kind: kind, capacity: 12, ratio: 0.5))
        return t
    }

    func testReplayBufferSurvivesCheckpoint() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environments: [() -> DiscreteEnvironment] = [{ HyperGrid(ndim: 2, height: 5) },
                                                         { SetGeneration(energies: [0.5, -1, 2, 0.1, 1.5], setSize: 3) }]
        for make in environments {
            for kind in ReplayKind.allCases {
                let original = trainer(kind, environment: make())
                _ = try original.train(trajectories: 40)   // 5 steps: the 12-item buffer has wrapped around
                XCTAssertEqual(original.replay?.count, 12)
                try original.save(to: path)
                let loaded = try GFlowNetTrainer.load(from: path)
                XCTAssertEqual(loaded.replay?.configuration, original.replay?.configuration, kind.name)
                XCTAssertEqual(loaded.replay?.storedLogRewards, original.replay?.storedLogRewards, kind.name)
                _ = try original.train(trajectories: 48)
                _ = try loaded.train(trajectories: 48)
                XCTAssertEqual(loaded.lossHistory.suffix(6), original.lossHistory.suffix(6), kind.name)
                XCTAssertEqual(loaded.replay?.storedLogRewards, original.replay?.storedLogRewards, kind.name)
                for (a, b) in zip(loaded.estimator.stateDict(), original.estimator.stateDict()) {
                    XCTAssertEqual(a.tensor.scalars, b.tensor.scalars, "\(kind.name) \(a.name)")
                }
            }
        }
    }

    func testMalformedReplayRecordsAreRejected() throws {
        let t = trainer(.trajectory, environment: HyperGrid(ndim: 2, height: 5))
        _ = try t.train(trajectories: 40)
        let file = try t.checkpoint()
        XCTAssertNotNil(try GFlowNetTrainer.restore(from: file).replay)
        func edited(tensor name: String, _ change: (inout [Float]) -> Void) -> SafeTensorsFile {
            var f = file
            let i = f.tensors.firstIndex { $0.name == name }!
            var values = f.tensors[i].tensor.scalars
            change(&values)
            f.tensors[i].tensor = Tensor(shape: [values.count], scalars: values)
            return f
        }
        func editedMeta(_ key: String, _ value: String?) -> SafeTensorsFile {
            var f = file
            f.metadata["flowgen." + key] = value
            return f
        }
        let exit = Float(t.environment.actionCount - 1)
        var dropped = file
        dropped.tensors.removeAll { $0.name == "replay.lengths" }
        var orphan = file
        for key in ["replay_kind", "replay_capacity", "replay_ratio", "replay_next"] { orphan.metadata["flowgen." + key] = nil }
        let cases: [(String, SafeTensorsFile)] = [
            ("action out of range", edited(tensor: "replay.actions") { $0[0] = 99 }),
            ("negative action", edited(tensor: "replay.actions") { $0[0] = -1 }),
            ("fractional action", edited(tensor: "replay.actions") { $0[0] = 0.5 }),
            ("exit first", edited(tensor: "replay.actions") { $0[0] = exit }),
            ("no exit last", edited(tensor: "replay.actions") { $0[$0.count - 1] = 0 }),
            ("lengths do not add up", edited(tensor: "replay.lengths") { $0[0] += 1 }),
            ("zero length", edited(tensor: "replay.lengths") { $0[0] = 0 }),
            ("reward word too large", {
                var f = file
                let i = f.tensors.firstIndex { $0.name == "replay.log_reward_bits" }!
                var v = f.tensors[i].tensor.scalars
                v[0] = 70_000
                f.tensors[i].tensor = Tensor(shape: [v.count / 4, 4], scalars: v)
                return f
            }()),
            ("NaN log reward", {
                var f = file
                let i = f.tensors.firstIndex { $0.name == "replay.log_reward_bits" }!
                var v = f.tensors[i].tensor.scalars
                v[0] = 1; v[1] = 0; v[2] = 0; v[3] = 0x7FF8   // a NaN bit pattern
                f.tensors[i].tensor = Tensor(shape: [v.count / 4, 4], scalars: v)
                return f
            }()),
            ("position beyond capacity", editedMeta("replay_next", "12")),
            ("unknown kind", editedMeta("replay_kind", "fancy")),
            ("capacity 0", editedMeta("replay_capacity", "0")),
            ("more items than capacity", editedMeta("replay_capacity", "5")),
            ("ratio 1", editedMeta("replay_ratio", String(Float(1).bitPattern))),
            ("missing tensor", dropped),
            ("tensors without metadata", orphan),
        ]
        for (name, bad) in cases {
            XCTAssertThrowsError(try GFlowNetTrainer.restore(from: bad), name) { error in
                guard case FlowIOError.corrupt = error else { return XCTFail("\(name): \(error)") }
            }
        }
    }
}
