import XCTest
import FlowGen

/// Conditional GFlowNets: one policy (condition appended to the encoding) and one log Z(c) MLP learn
/// R(x | c)/Z(c) for two different reward functions selected by the condition.
final class ConditionalTests: XCTestCase {
    /// c = (1, 0): HyperGrid's reward; c = (0, 1): log R = 0.5·x₀ − 0.3·x₁ (a smooth tilt).
    static func logReward(_ grid: HyperGrid) -> ([Int32], [Float], Int) throws -> [Double] {
        return { states, conditions, n in
            let hg = try grid.logReward(states, count: n)
            return (0..<n).map { i in
                let tilt = 0.5 * Double(states[i * 2]) - 0.3 * Double(states[i * 2 + 1])
                return Double(conditions[i * 2]) * hg[i] + Double(conditions[i * 2 + 1]) * tilt
            }
        }
    }

    /// TB, 2-D H6, 2×128, batch 16, 16,000 trajectories with the condition drawn uniformly from the two:
    /// measured (seed 1) exact L1 0.0126 and 0.0121, |log Z(c) error| 0.012 and 0.020. About 1 s.
    func testConditionalTrajectoryBalanceLearnsBothTargets() throws {
        #if DEBUG
        throw XCTSkip("convergence budget sized for release builds (swift test -c release)")
        #endif
        let grid = HyperGrid(ndim: 2, height: 6)
        var c = GFlowNetTrainer.Configuration()
        c.seed = 1; c.hiddenWidth = 128; c.batchSize = 16
        let gfn = ConditionalGFlowNet(base: grid, conditionDimension: 2, configuration: c, logReward: Self.logReward(grid))
        let set: [Float] = [1, 0, 0, 1]
        try gfn.train(trajectories: 16_000, conditionSet: set)
        for cond in [[Float(1), 0], [0, 1]] {
            let (target, logZ) = try gfn.target(condition: cond)
            let learned = try gfn.exactDistribution(condition: cond)
            let d = DistributionDistances(learned: learned, target: target)
            let z = Double(gfn.logZ(cond)[0])
            print("conditional \(cond): l1 \(d.l1), log Z(c) \(z) vs \(logZ)")
            XCTAssertLessThan(d.l1, 0.06, "\(cond)")
            XCTAssertLessThan(Swift.abs(z - logZ), 0.06, "\(cond)")
        }
        // The two targets differ a lot, so one shared unconditional policy could not match both.
        let a = try gfn.target(condition: [1, 0]).probabilities, b = try gfn.target(condition: [0, 1]).probabilities
        XCTAssertGreaterThan(DistributionDistances(learned: a, target: b).l1, 0.5)
        // Samples follow the condition: under the tilt, x₀ is large more often than x₁.
        let s = try gfn.sample(400, condition: [0, 1], seed: 2)
        var more = 0
        for i in 0..<400 where s[i * 2] > s[i * 2 + 1] { more += 1 }
        XCTAssertGreaterThan(more, 250)
        XCTAssertEqual(gfn.step, 1000)
    }

    func testFailingRewardLeavesConditionalGFlowNetUnchanged() throws {
        let grid = HyperGrid(ndim: 2, height: 4)
        var fail = false
        var c = GFlowNetTrainer.Configuration()
        c.hiddenWidth = 16; c.objective = .subTrajectoryBalance
        let gfn = ConditionalGFlowNet(base: grid, conditionDimension: 1, configuration: c) { states, conds, n in
            if fail { throw GFlowNetError.callback("nope") }
            return (0..<n).map { Double(conds[$0]) * Double(states[$0 * 2]) }
        }
        try gfn.train(trajectories: 32, conditionSet: [0.5, -0.5])
        let rng = gfn.rng.stateWords, before = try gfn.exactDistribution(condition: [0.5])
        fail = true
        XCTAssertThrowsError(try gfn.trainStep(conditionSet: [0.5]))
        XCTAssertEqual(gfn.rng.stateWords, rng)
        XCTAssertEqual(gfn.step, 2)
        fail = false
        XCTAssertEqual(try gfn.exactDistribution(condition: [0.5]), before)
        XCTAssertEqual(try gfn.exactDistribution(condition: [0.5]).reduce(0, +), 1, accuracy: 1e-6)  // Float32 log-probabilities
    }

    /// Saved and restored with the same reward, a conditional GFlowNet continues bit-for-bit (pre-train,
    /// save, fine-tune later); wrong kinds of files and a missing user environment are refused.
    func testConditionalCheckpointResumesExactly() throws {
        let grid = HyperGrid(ndim: 2, height: 5)
        var c = GFlowNetTrainer.Configuration()
        c.seed = 3; c.hiddenWidth = 16; c.batchSize = 8; c.objective = .subTrajectoryBalance
        let set: [Float] = [1, 0, 0, 1]
        let gfn = ConditionalGFlowNet(base: grid, conditionDimension: 2, configuration: c, logZHiddenWidth: 8,
                                      logReward: Self.logReward(grid))
        try gfn.train(trajectories: 64, conditionSet: set)
        let file = try gfn.checkpoint()
        let loaded = try ConditionalGFlowNet.restore(from: file, logReward: Self.logReward(grid))
        XCTAssertEqual(loaded.step, gfn.step)
        XCTAssertEqual(loaded.trajectoriesSeen, gfn.trajectoriesSeen)
        XCTAssertEqual(loaded.logZ([0, 1]), gfn.logZ([0, 1]))
        try gfn.train(trajectories: 40, conditionSet: set)
        try loaded.train(trajectories: 40, conditionSet: set)
        XCTAssertEqual(loaded.lossHistory, Array(gfn.lossHistory.suffix(5)))
        XCTAssertEqual(try loaded.exactDistribution(condition: [1, 0]), try gfn.exactDistribution(condition: [1, 0]))
        XCTAssertEqual(try loaded.sample(20, condition: [0, 1], seed: 9), try gfn.sample(20, condition: [0, 1], seed: 9))
        // A plain GFlowNet checkpoint is not a conditional one, and vice versa.
        let plain = try GFlowNetTrainer(environment: grid, configuration: GFlowNetTrainer.Configuration()).checkpoint()
        XCTAssertThrowsError(try ConditionalGFlowNet.restore(from: plain, logReward: Self.logReward(grid)))
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: file))
        var bad = file
        bad.metadata["flowgen.condition_dim"] = "3"
        XCTAssertThrowsError(try ConditionalGFlowNet.restore(from: bad, logReward: Self.logReward(grid))) { error in
            guard case FlowIOError.corrupt = error else { return XCTFail("\(error)") }
        }
        bad = file
        bad.metadata["flowgen.loss"] = "fm"
        XCTAssertThrowsError(try ConditionalGFlowNet.restore(from: bad, logReward: Self.logReward(grid)))
    }
}
