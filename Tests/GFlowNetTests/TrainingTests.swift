import XCTest
import FlowGen
import _FlowGenTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Training: convergence against the exact target, every objective running, reproducibility and
/// checkpoint/resume.
final class TrainingTests: XCTestCase {
    func seconds() -> Double {
        var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// TB on 2-D H8 (R0 = 0.1), batch 16, MLP 2×256, lr 1e-3, log Z lr 0.1 (torchgfn's settings with
    /// batch 16): 16,000 trajectories reach an exact sum-L1 below 0.02 (seeds 1–5 measured 0.0007–0.0104)
    /// and |log Z error| below 0.02. About 2 s in a release build.
    func testTrajectoryBalanceConvergesOnTwoDimensionalGrid() throws {
        var c = GFlowNetTrainer.Configuration()
        c.seed = 1
        let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 8), configuration: c)
        let before = try trainer.metrics()
        let start = seconds()
        try trainer.train(trajectories: 16_000)
        let elapsed = seconds() - start
        let m = try trainer.metrics()
        print("TB 2-D H8: 16k trajectories in \(elapsed) s (\(16_000 / elapsed) traj/s): l1 \(m.l1) (initial \(before.l1)), log Z \(m.logZ) vs \(m.logZTrue), modes \(m.modesFound)/\(m.modeCount)")
        XCTAssertLessThan(m.l1, 0.02)
        XCTAssertLessThan(Swift.abs(m.logZ - m.logZTrue), 0.02)
        XCTAssertEqual(m.modesFound, 4)
        XCTAssertEqual(m.modeCount, 4)
        XCTAssertEqual(m.trajectories, 16_000)
    }

    /// TB on 4-D H8 (R0 = 0.1), batch 16, 2×256: 32,000 trajectories reach an exact sum-L1 below 0.2
    /// (measured 0.113 with seed 1; torchgfn's regression threshold at 32k trajectories is 0.25 with
    /// batch 128). About 5–10 s in a release build.
    func testTrajectoryBalanceOnFourDimensionalGrid() throws {
        #if DEBUG
        throw XCTSkip("convergence budget sized for release builds (swift test -c release)")
        #endif
        var c = GFlowNetTrainer.Configuration()
        c.seed = 1
        let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 4, height: 8), configuration: c)
        let start = seconds()
        try trainer.train(trajectories: 32_000)
        let elapsed = seconds() - start
        let m = try trainer.metrics()
        print("TB 4-D H8: 32k trajectories in \(elapsed) s (\(32_000 / elapsed) traj/s): l1 \(m.l1), log Z \(m.logZ) vs \(m.logZTrue), modes \(m.modesFound)/\(m.modeCount)")
        XCTAssertLessThan(m.l1, 0.2)
        XCTAssertLessThan(Swift.abs(m.logZ - m.logZTrue), 0.2)
        XCTAssertEqual(m.modeCount, 16)
        XCTAssertGreaterThanOrEqual(m.modesFound, 14)
    }

    /// Flow matching on 2-D H8 (batch 16, 2×256, lr 1e-3): 12,000 trajectories reach torchgfn's FM
    /// threshold, exact sum-L1 ≤ 0.047 (measured 0.036 after 8k and 3e-6 after 32k with seed 1).
    func testFlowMatchingConvergesOnTwoDimensionalGrid() throws {
        #if DEBUG
        throw XCTSkip("convergence budget sized for release builds (swift test -c release)")
        #endif
        var c = GFlowNetTrainer.Configuration()
        c.objective = .flowMatching
        c.seed = 1
        let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 8), configuration: c)
        try trainer.train(trajectories: 12_000)
        let m = try trainer.metrics()
        print("FM 2-D H8: 12k trajectories: l1 \(m.l1), log Z \(m.logZ) vs \(m.logZTrue)")
        XCTAssertLessThan(m.l1, 0.047)
        XCTAssertLessThan(Swift.abs(m.logZ - m.logZTrue), 0.05)
    }

    /// Every objective trains without error and moves the exact distribution towards the target (2-D H4;
    /// the forward-looking ones on 6 items choose 3).
    func testEveryObjectiveImprovesOnSmallGrid() throws {
        for objective in GFlowNetObjective.allCases {
            var c = GFlowNetTrainer.Configuration()
            c.objective = objective
            c.hiddenWidth = 64
            c.seed = 7
            c.lambda = 0.9
            c.learningRate = objective == .flowMatching ? 3e-3 : 1e-3
            // The forward-looking objectives need intermediate rewards: they run on a small set task.
            let grid = HyperGrid(ndim: 2, height: 4)
            let env: DiscreteEnvironment = GFlowNetTrainer.compatibilityProblem(environment: grid, configuration: c) == nil
                ? grid : SetGeneration(itemCount: 6, setSize: 3, beta: 2, seed: 1)
            let trainer = GFlowNetTrainer(environment: env, configuration: c)
            let before = try trainer.metrics().l1
            try trainer.train(trajectories: 3_000)
            let m = try trainer.metrics()
            print("\(objective.name): l1 \(before) → \(m.l1), log Z \(m.logZ) vs \(m.logZTrue)")
            XCTAssertLessThan(m.l1, before * 0.6, "\(objective.name) did not improve")
            XCTAssertLessThan(m.l1, 0.25, objective.name)
            XCTAssertTrue(m.logZ.isFinite)
        }
    }

    /// Off-policy: ε-uniform exploration with the unperturbed policy in the loss still learns R/Z.
    func testEpsilonExplorationStillConverges() throws {
        var c = GFlowNetTrainer.Configuration()
        c.sampling = SamplingOptions(epsilon: 0.3, temperature: 1.5)
        c.hiddenWidth = 64
        c.seed = 2
        let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 4), configuration: c)
        try trainer.train(trajectories: 4_000)
        let m = try trainer.metrics()
        XCTAssertLessThan(m.l1, 0.15)
        XCTAssertLessThan(Swift.abs(m.logZ - m.logZTrue), 0.1)
    }

    func testSameSeedSameRunAndResumeIsExact() throws {
        var c = GFlowNetTrainer.Configuration()
        c.objective = .subTrajectoryBalance
        c.hiddenWidth = 32
        c.seed = 9
        let env = HyperGrid(ndim: 3, height: 4)
        let a = GFlowNetTrainer(environment: env, configuration: c)
        let b = GFlowNetTrainer(environment: env, configuration: c)
        try a.train(trajectories: 320)
        try b.train(trajectories: 160)
        let path = "/tmp/flowgen-gfn-test-\(getpid()).safetensors"
        defer { unlink(path) }
        try b.save(to: path)
        let resumed = try GFlowNetTrainer.load(from: path)
        XCTAssertEqual(resumed.step, 10)
        try resumed.train(trajectories: 160)
        XCTAssertEqual(resumed.step, a.step)
        XCTAssertEqual(resumed.trajectoriesSeen, a.trajectoriesSeen)
        for (p, q) in zip(a.estimator.parameters, resumed.estimator.parameters) { XCTAssertEqual(p.value.scalars, q.value.scalars) }
        XCTAssertEqual(a.logZ.value.scalars, resumed.logZ.value.scalars)
        XCTAssertEqual(a.rng.stateWords, resumed.rng.stateWords)
        XCTAssertEqual(try a.metrics(), try resumed.metrics())
        XCTAssertEqual(a.lossHistory.suffix(10), resumed.lossHistory.suffix(10))
    }

    func testCancelledTrainingKeepsStepsDone() throws {
        var c = GFlowNetTrainer.Configuration()
        c.hiddenWidth = 16
        let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 4), configuration: c)
        XCTAssertThrowsError(try trainer.train(trajectories: 160) { step, _, _ in step < 3 }) { error in
            XCTAssertEqual(error as? GFlowNetError, .cancelled(step: 3))
        }
        XCTAssertEqual(trainer.step, 3)
        XCTAssertEqual(trainer.trajectoriesSeen, 48)
    }

    func testCorruptCheckpointIsRejected() throws {
        var c = GFlowNetTrainer.Configuration()
        c.hiddenWidth = 8
        let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 4), configuration: c)
        var file = try trainer.checkpoint()
        file.metadata["flowgen.height"] = "1"
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: file))
        file = try trainer.checkpoint()
        file.metadata["flowgen.loss"] = "nope"
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: file))
        file = try trainer.checkpoint()
        file.tensors.removeAll { $0.name == "log_z" }
        XCTAssertThrowsError(try GFlowNetTrainer.restore(from: file))
        XCTAssertNoThrow(try GFlowNetTrainer.restore(from: try trainer.checkpoint()))
    }
}
