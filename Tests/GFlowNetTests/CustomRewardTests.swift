import XCTest
import FlowGen
import _FlowGenTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Reward-only mode: a HyperGrid whose terminal log reward comes from a user function.
final class CustomRewardTests: XCTestCase {
    struct Failure: Error {}

    /// log R(x) = x₀ − x₁ (on a 4 × 4 grid): one mode at (3, 0).
    static func tilt(_ states: [Int32], _ count: Int) -> [Double] {
        (0..<count).map { Double(states[2 * $0]) - Double(states[2 * $0 + 1]) }
    }

    func testTrainsTowardsTheUserTarget() throws {
        let env = CustomRewardEnvironment(base: HyperGrid(ndim: 2, height: 4), logReward: Self.tilt)
        var c = GFlowNetTrainer.Configuration()
        c.hiddenWidth = 64; c.seed = 4
        let trainer = GFlowNetTrainer(environment: env, configuration: c)
        let (target, logZ) = try trainer.target()
        // Z = Σ_{a,b} e^{a−b} = (Σ e^a)(Σ e^{−b}).
        let s = (0..<4).map { exp(Double($0)) }.reduce(0, +), t = (0..<4).map { exp(-Double($0)) }.reduce(0, +)
        XCTAssertEqual(logZ, log(s * t), accuracy: 1e-12)
        XCTAssertEqual(target[3], exp(3 - logZ), accuracy: 1e-12)
        try trainer.train(trajectories: 4_000)
        let m = try trainer.metrics()
        XCTAssertLessThan(m.l1, 0.1)
        XCTAssertEqual(m.modeCount, 1)
        XCTAssertEqual(m.modesFound, 1)
        XCTAssertEqual(m.logZ, logZ, accuracy: 0.1)
    }

    func testFailingOrInvalidRewardLeavesTrainerUnchanged() throws {
        var calls = 0
        var failAfter = Int.max
        var value = 0.0
        let env = CustomRewardEnvironment(base: HyperGrid(ndim: 2, height: 4)) { states, count in
            calls += 1
            if calls > failAfter { throw Failure() }
            return [Double](repeating: value, count: count)
        }
        var c = GFlowNetTrainer.Configuration()
        c.hiddenWidth = 16
        let trainer = GFlowNetTrainer(environment: env, configuration: c)
        try trainer.train(trajectories: 32)
        let weights = trainer.estimator.parameters.map(\.value.scalars)
        let rng = trainer.rng.stateWords
        failAfter = calls
        XCTAssertThrowsError(try trainer.trainStep()) { XCTAssertTrue($0 is Failure) }
        failAfter = .max
        value = .nan
        XCTAssertThrowsError(try trainer.trainStep()) { error in
            guard case GFlowNetError.invalidReward = error else { return XCTFail("\(error)") }
        }
        value = -.infinity
        XCTAssertThrowsError(try trainer.trainStep())
        XCTAssertEqual(trainer.step, 2)
        XCTAssertEqual(trainer.trajectoriesSeen, 32)
        XCTAssertEqual(trainer.rng.stateWords, rng)
        XCTAssertEqual(trainer.estimator.parameters.map(\.value.scalars), weights)
        value = 0
        XCTAssertNoThrow(try trainer.trainStep())
        XCTAssertEqual(trainer.step, 3)
    }

    func testCheckpointNeedsTheRewardFunctionAgain() throws {
        let env = CustomRewardEnvironment(base: HyperGrid(ndim: 2, height: 4), logReward: Self.tilt)
        var c = GFlowNetTrainer.Configuration()
        c.hiddenWidth = 16
        let trainer = GFlowNetTrainer(environment: env, configuration: c)
        try trainer.train(trajectories: 64)
        let file = try trainer.checkpoint()
        XCTAssertEqual(file.metadata["flowgen.reward"], "callback")
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: file))
        let restored = try GFlowNetTrainer.restore(from: file, logReward: Self.tilt)
        XCTAssertEqual(try restored.metrics(), try trainer.metrics())
        let builtin = try GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 4), configuration: c).checkpoint()
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: builtin, logReward: Self.tilt))
    }
}
