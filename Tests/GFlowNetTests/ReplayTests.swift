import XCTest
import FlowGen

/// Replay buffers: training with replayed trajectories (stored, re-expanded backwards with P_B, or
/// reward-prioritised) still converges to R/Z; backward re-expansion samples P_B; a failing step
/// leaves the buffer as it was.
final class ReplayTests: XCTestCase {
    /// TB on 2-D H8, batch 16, 2×128 MLP, half of every batch replayed from a 2,000-item buffer,
    /// 12,000 batch trajectories: the exact L1 falls below 0.05 for every kind (measured with seed 1:
    /// trajectory 0.0027, backward 0.0039, prioritized 0.021; |log Z error| ≤ 0.0034). About 3 s.
    func testTrainingWithReplayConvergesOnTwoDimensionalGrid() throws {
        #if DEBUG
        throw XCTSkip("convergence budget sized for release builds (swift test -c release)")
        #endif
        for kind in ReplayKind.allCases {
            var c = GFlowNetTrainer.Configuration()
            c.seed = 1; c.hiddenWidth = 128
            let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 8), configuration: c)
            trainer.replay = ReplayBuffer(ReplayConfiguration(kind: kind, capacity: 2000, ratio: 0.5))
            try trainer.train(trajectories: 12_000)
            let m = try trainer.metrics()
            print("replay \(kind.name): l1 \(m.l1), log Z \(m.logZ) vs \(m.logZTrue), buffer \(trainer.replay!.count)")
            XCTAssertLessThan(m.l1, 0.05, kind.name)
            XCTAssertLessThan(Swift.abs(m.logZ - m.logZTrue), 0.05, kind.name)
            XCTAssertEqual(trainer.replay!.count, 2000)
        }
    }

    /// With a uniform P_B, the two paths to (1, 1) are each replayed half of the time, and every
    /// re-expanded trajectory is a valid forward path from s₀ to its terminal state.
    func testBackwardReexpansionFollowsBackwardPolicy() throws {
        var c = GFlowNetTrainer.Configuration()
        c.uniformBackward = true; c.hiddenWidth = 16; c.batchSize = 2; c.seed = 2
        let grid = HyperGrid(ndim: 2, height: 4)
        let trainer = GFlowNetTrainer(environment: grid, configuration: c)
        let replay = ReplayBuffer(ReplayConfiguration(kind: .backward, capacity: 8, ratio: 0.5))
        trainer.replay = replay
        var rng = RandomGenerator(seed: 5)
        var firstRight = 0
        let draws = 4000
        for _ in 0..<draws {
            let expanded = try trainer.backwardTrajectory(to: [1, 1], rng: &rng)
            XCTAssertEqual(expanded.states.count, 3 * 2)
            XCTAssertEqual(Array(expanded.states.prefix(2)), [0, 0])
            XCTAssertEqual(Array(expanded.states.suffix(2)), [1, 1])
            XCTAssertEqual(expanded.actions.last, 2)
            // step(s_t, a_t) == s_{t+1}
            for t in 0..<2 {
                let next = grid.step(Array(expanded.states[(t * 2)..<(t * 2 + 2)]), actions: [expanded.actions[t]], count: 1)
                XCTAssertEqual(next, Array(expanded.states[((t + 1) * 2)..<((t + 2) * 2)]))
            }
            if expanded.actions[0] == 0 { firstRight += 1 }
        }
        // Binomial(4000, 1/2): 5 standard deviations ≈ 0.04.
        XCTAssertEqual(Double(firstRight) / Double(draws), 0.5, accuracy: 0.04)
        _ = replay
    }

    func testPrioritizedKeepsBestAndFailedStepRestoresBuffer() throws {
        var c = GFlowNetTrainer.Configuration()
        c.hiddenWidth = 16; c.batchSize = 8; c.seed = 3
        var failing = false
        let grid = HyperGrid(ndim: 2, height: 6)
        let env = CustomRewardEnvironment(base: grid) { states, n in
            if failing { throw GFlowNetError.callback("no reward today") }
            return try grid.logReward(states, count: n)
        }
        let trainer = GFlowNetTrainer(environment: env, configuration: c)
        trainer.replay = ReplayBuffer(ReplayConfiguration(kind: .prioritized, capacity: 10, ratio: 0.25))
        try trainer.train(trajectories: 400)
        let replay = trainer.replay!
        XCTAssertEqual(replay.count, 10)
        // The buffer holds the 10 best rewards seen: all at least as high as any other seen reward
        // cannot be checked directly, but they must be at least the median of the grid's rewards.
        let stored = replay.storedLogRewards
        XCTAssertGreaterThanOrEqual(stored.min()!, log(0.6) - 1e-9, "\(stored)")
        let before = stored, steps = trainer.step
        failing = true
        XCTAssertThrowsError(try trainer.trainStep())
        XCTAssertEqual(replay.storedLogRewards, before)
        XCTAssertEqual(trainer.step, steps)
        failing = false
        try trainer.trainStep()
        XCTAssertEqual(trainer.step, steps + 1)
    }
}
