import XCTest
import FlowGen

/// Full user environments: HyperGrid re-implemented through `CallbackEnvironment` reproduces the
/// built-in run bit-for-bit; failing or inconsistent callbacks abort the call and leave the trainer
/// unchanged and usable.
final class CallbackEnvironmentTests: XCTestCase {
    struct Boom: Error {}

    /// HyperGrid's functions as closures; `failAfter` makes the n-th call of `which` throw.
    final class Probe {
        var calls = 0
        var failAt: (String, Int)? = nil
        func check(_ name: String) throws {
            calls += 1
            if let (which, n) = failAt, which == name, calls >= n { throw GFlowNetError.callback("boom in \(name)") }
        }
    }

    func userGrid(_ grid: HyperGrid, probe: Probe = Probe(), badStep: Bool = false) throws -> CallbackEnvironment {
        let f = CallbackEnvironment.Functions(
            forwardMask: { s, n in try probe.check("forward_mask"); return grid.forwardMask(s, count: n) },
            backwardMask: { s, n in try probe.check("backward_mask"); return grid.backwardMask(s, count: n) },
            step: { s, a, n in
                try probe.check("step")
                // badStep: action 0 moves coordinate 1 instead (disagrees with the backward mask/step).
                return badStep ? grid.step(s, actions: a.map { $0 == 0 ? 1 : $0 }, count: n) : grid.step(s, actions: a, count: n)
            },
            backwardStep: { s, a, n in try probe.check("backward_step"); return grid.backwardStep(s, actions: a, count: n) },
            logReward: { s, n in try probe.check("log_reward"); return try grid.logReward(s, count: n) },
            encode: { s, n, d in try probe.check("encode"); grid.encode(s, count: n, into: d) },
            allStates: { grid.allStates() })
        let env = CallbackEnvironment(stateDimension: grid.stateDimension, actionCount: grid.actionCount,
                                      encodingDimension: grid.encodingDimension, maxTrajectoryLength: grid.maxTrajectoryLength,
                                      initialState: grid.initialState, stateCount: grid.enumeratedStateCount, functions: f)
        try env.validateEnumeration()
        return env
    }

    func config(_ objective: GFlowNetObjective) -> GFlowNetTrainer.Configuration {
        var c = GFlowNetTrainer.Configuration()
        c.objective = objective; c.hiddenWidth = 64; c.batchSize = 16; c.seed = 7
        return c
    }

    func testUserHyperGridReproducesBuiltInBitForBit() throws {
        for objective in [GFlowNetObjective.trajectoryBalance, .subTrajectoryBalance, .flowMatching] {
            let grid = HyperGrid(ndim: 2, height: 6)
            let builtIn = GFlowNetTrainer(environment: grid, configuration: config(objective))
            let user = GFlowNetTrainer(environment: try userGrid(grid), configuration: config(objective))
            try builtIn.train(trajectories: 640)
            try user.train(trajectories: 640)
            XCTAssertEqual(builtIn.lossHistory, user.lossHistory, objective.name)
            XCTAssertEqual(try builtIn.exactDistribution(), try user.exactDistribution(), objective.name)
            // A user environment declares no mode regions, so each of its modes is its own region; the
            // built-in grid groups its modes into corners. Everything else must agree exactly.
            var expected = try builtIn.metrics()
            let got = try user.metrics()
            XCTAssertEqual(got.modeRegionsFound, got.modesFound, objective.name)
            XCTAssertEqual(got.modeRegionCount, got.modeCount, objective.name)
            expected.modeRegionsFound = got.modeRegionsFound
            expected.modeRegionCount = got.modeRegionCount
            XCTAssertEqual(expected, got, objective.name)
            XCTAssertEqual(try builtIn.sample(50, seed: 3), try user.sample(50, seed: 3))
        }
    }

    func parameters(_ t: GFlowNetTrainer) -> [[Float]] { t.estimator.parameters.map(\.value.scalars) + [t.logZ.value.scalars] }

    func testFailingCallbackLeavesTrainerUnchangedAndUsable() throws {
        let grid = HyperGrid(ndim: 2, height: 6)
        for which in ["forward_mask", "backward_mask", "step", "backward_step", "log_reward", "encode"] {
            let probe = Probe()
            let env = try userGrid(grid, probe: probe)
            let trainer = GFlowNetTrainer(environment: env, configuration: config(.subTrajectoryBalance))
            try trainer.train(trajectories: 32)
            let before = parameters(trainer), steps = trainer.step, rng = trainer.rng.stateWords
            probe.calls = 0
            probe.failAt = (which, 3)
            XCTAssertThrowsError(try trainer.trainStep(), which) { error in
                guard case GFlowNetError.callback(let m) = error else { return XCTFail("\(which): \(error)") }
                XCTAssertTrue(m.contains("boom in \(which)"), m)
            }
            XCTAssertEqual(parameters(trainer), before, which)
            XCTAssertEqual(trainer.step, steps)
            XCTAssertEqual(trainer.rng.stateWords, rng)
            XCTAssertNil(env.failure)
            probe.failAt = nil
            try trainer.train(trajectories: 32)          // usable afterwards
            XCTAssertEqual(trainer.step, steps + 2)
            // Metrics fail cleanly too and do not poison the cached DAG.
            probe.calls = 0
            probe.failAt = (which == "step" ? "step" : "forward_mask", 1)
            let fresh = GFlowNetTrainer(environment: env, configuration: config(.trajectoryBalance))
            XCTAssertThrowsError(try fresh.metrics())
            probe.failAt = nil
            XCTAssertEqual(try fresh.exactDistribution().reduce(0, +), 1, accuracy: 1e-9)
        }
    }

    func testInconsistentCallbacksAreReported() throws {
        let grid = HyperGrid(ndim: 2, height: 4)
        // Step disagreeing with the backward functions is caught at creation (enumeration check).
        XCTAssertThrowsError(try userGrid(grid, badStep: true)) { error in
            XCTAssertTrue("\(error)".contains("masks disagree") || "\(error)".contains("backward_step"), "\(error)")
        }
        // A forward mask allowing nothing.
        let f = CallbackEnvironment.Functions(
            forwardMask: { _, n in [Bool](repeating: false, count: n * 3) },
            backwardMask: { s, n in grid.backwardMask(s, count: n) },
            step: { s, a, n in grid.step(s, actions: a, count: n) },
            backwardStep: { s, a, n in grid.backwardStep(s, actions: a, count: n) },
            logReward: { s, n in [Double](repeating: .nan, count: n) },
            encode: { s, n, d in grid.encode(s, count: n, into: d) })
        let env = CallbackEnvironment(stateDimension: 2, actionCount: 3, encodingDimension: 8, maxTrajectoryLength: 7,
                                      initialState: [0, 0], stateCount: nil, functions: f)
        let trainer = GFlowNetTrainer(environment: env, configuration: config(.trajectoryBalance))
        XCTAssertThrowsError(try trainer.trainStep()) { XCTAssertTrue("\($0)".contains("allows no action"), "\($0)") }
        // NaN log rewards.
        var g = f
        g.forwardMask = { s, n in grid.forwardMask(s, count: n) }
        let nanEnv = CallbackEnvironment(stateDimension: 2, actionCount: 3, encodingDimension: 8, maxTrajectoryLength: 7,
                                         initialState: [0, 0], stateCount: nil, functions: g)
        let t2 = GFlowNetTrainer(environment: nanEnv, configuration: config(.trajectoryBalance))
        XCTAssertThrowsError(try t2.trainStep()) { error in
            guard case GFlowNetError.invalidReward = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(t2.step, 0)
    }

    /// A trainer on a callback environment is saved with the environment's shape and loaded with the same
    /// callbacks (continuing bit-for-bit, replay included); loading without them, with another shape, or a
    /// built-in checkpoint with them is refused.
    func testCallbackEnvironmentCheckpoint() throws {
        let grid = HyperGrid(ndim: 2, height: 6)
        let trainer = GFlowNetTrainer(environment: try userGrid(grid), configuration: config(.trajectoryBalance))
        trainer.replay = ReplayBuffer(ReplayConfiguration(kind: .backward, capacity: 30))
        try trainer.train(trajectories: 96)
        let file = try trainer.checkpoint()
        XCTAssertEqual(file.metadata["flowgen.env"], "user")
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: file)) { error in
            guard case FlowIOError.invalid = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: file, environment: try userGrid(HyperGrid(ndim: 2, height: 5)))) { error in
            guard case FlowIOError.invalid(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("does not match"), message)
        }
        let builtIn = try GFlowNetTrainer(environment: grid, configuration: config(.trajectoryBalance)).checkpoint()
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: builtIn, environment: try userGrid(grid)))
        let loaded = try GFlowNetTrainer.restore(from: file, environment: try userGrid(grid))
        XCTAssertEqual(loaded.replay?.storedLogRewards, trainer.replay?.storedLogRewards)
        try trainer.train(trajectories: 64)
        try loaded.train(trajectories: 64)
        XCTAssertEqual(loaded.lossHistory.suffix(4), trainer.lossHistory.suffix(4))
        XCTAssertEqual(try loaded.exactDistribution(), try trainer.exactDistribution())
        // A callback failing while the buffer is re-walked is a clean error.
        let probe = Probe()
        let failing = try userGrid(grid, probe: probe)
        probe.failAt = ("forward_mask", 0)
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: file, environment: failing)) { error in
            guard case GFlowNetError.callback = error else { return XCTFail("a failing callback is reported as such, got \(error)") }
        }
    }
}
