import XCTest
import FlowGen
import _FlowGenTestSupport

/// Hand-computed values on a tiny batch and finite-difference gradient checks of every objective.
///
/// Batch (B = 2, T = 3, time-major [t, b]): trajectory 0 has 2 transitions (one move + exit),
/// trajectory 1 has 3 (two moves + exit).
final class ObjectiveTests: XCTestCase {
    let logPF = Tensor(shape: [3, 2], scalars: [-0.5, -1.0, -0.2, -0.7, 0, -0.3])
    let logPB = Tensor(shape: [3, 2], scalars: [-0.1, -0.4, 0, -0.6, 0, 0])
    let logF = Tensor(shape: [3, 2], scalars: [1.0, 1.2, 0.5, 0.8, 0, 0.3])
    let logR = Tensor(shape: [2], scalars: [0.2, -0.5])
    let lengths = [2, 3]

    func batch(_ v: [Variable]) -> TrajectoryLogProbabilities {
        TrajectoryLogProbabilities(logPF: v[0], logPB: v[1], logF: v.count > 2 ? v[2] : nil, lengths: lengths, logRewards: logR)
    }

    func testTrajectoryBalanceGoldenAndGradient() {
        // δ0 = 1.5 − 0.7 − 0.2 + 0.1 = 0.7; δ1 = 1.5 − 2.0 + 0.5 + 1.0 = 1.0; mean of squares 0.745.
        let loss = trajectoryBalanceLoss(batch([Variable(logPF), Variable(logPB)]), logZ: Variable(Tensor(shape: [1], scalars: [1.5])))
        XCTAssertEqual(loss.value.scalar, 0.745, accuracy: 1e-6)
        assertGradientsMatchFiniteDifferences([logPF, logPB, Tensor(shape: [1], scalars: [1.5])]) { v in
            trajectoryBalanceLoss(self.batch([v[0], v[1]]), logZ: v[2])
        }
        let half = trajectoryBalanceLoss(batch([Variable(logPF), Variable(logPB)]), logZ: Variable(Tensor(shape: [1], scalars: [1.5])),
                                         penalty: .halfSquared)
        XCTAssertEqual(half.value.scalar, 0.3725, accuracy: 1e-6)
        let cosh = trajectoryBalanceLoss(batch([Variable(logPF), Variable(logPB)]), logZ: Variable(Tensor(shape: [1], scalars: [1.5])),
                                         penalty: .shiftedCosh)
        XCTAssertEqual(cosh.value.scalar, Float((Foundation_cosh(0.7) - 1 + Foundation_cosh(1.0) - 1) / 2), accuracy: 1e-5)
    }

    func testLogPartitionVarianceGoldenAndGradient() {
        // ζ = [−0.8, −0.5], mean −0.65 → δ = ∓0.15 → 0.0225.
        let loss = logPartitionVarianceLoss(batch([Variable(logPF), Variable(logPB)]))
        XCTAssertEqual(loss.value.scalar, 0.0225, accuracy: 1e-6)
        assertGradientsMatchFiniteDifferences([logPF, logPB]) { v in logPartitionVarianceLoss(self.batch(v)) }
    }

    func testDetailedBalanceGoldenAndGradient() {
        // δ = 0.1, 0.1 (trajectory 0); −0.2, 0.4, 0.5 (trajectory 1) → (0.01+0.01+0.04+0.16+0.25)/5.
        let loss = detailedBalanceLoss(batch([Variable(logPF), Variable(logPB), Variable(logF)]))
        XCTAssertEqual(loss.value.scalar, 0.094, accuracy: 1e-6)
        assertGradientsMatchFiniteDifferences([logPF, logPB, logF]) { v in detailedBalanceLoss(self.batch(v)) }
    }

    func testSubTrajectoryBalanceGoldenAndGradient() {
        // λ = 0.5. Trajectory 0: δ01 = 0.1, δ12 = 0.1, δ02 = 0.2 (w λ), norm 2 + λ = 2.5 → 0.04/2.5.
        // Trajectory 1: δ = −0.2, 0.4, 0.5 (w 1), 0.2, 0.9 (w λ), 0.7 (w λ²), norm 3 + 2λ + λ² = 4.25
        //   → (0.45 + 0.425 + 0.1225)/4.25. Loss = mean over the two trajectories.
        let loss = subTrajectoryBalanceLoss(batch([Variable(logPF), Variable(logPB), Variable(logF)]), lambda: 0.5)
        XCTAssertEqual(loss.value.scalar, Float((0.04 / 2.5 + 0.9975 / 4.25) / 2), accuracy: 1e-6)
        assertGradientsMatchFiniteDifferences([logPF, logPB, logF]) { v in
            subTrajectoryBalanceLoss(self.batch(v), lambda: 0.5)
        }
        // λ → 0 keeps only length-1 sub-trajectories: the per-trajectory mean of DB residuals.
        let db = subTrajectoryBalanceLoss(batch([Variable(logPF), Variable(logPB), Variable(logF)]), lambda: 1e-6)
        XCTAssertEqual(db.value.scalar, Float((0.02 / 2 + 0.45 / 3) / 2), accuracy: 1e-5)
    }

    func testFlowMatchingGoldenAndGradient() {
        let inflow = Tensor(shape: [2, 2], scalars: [0.5, 9.0, 0.2, -0.4])
        let inMask = [true, false, true, true]
        let outflow = Tensor(shape: [2, 3], scalars: [0.1, 7.0, -0.3, 1.0, 0.0, 0.5])
        let outMask = [true, false, true, true, false, true]
        let exitFlows = Tensor(shape: [1], scalars: [0.4])
        let rewards = Tensor(shape: [1], scalars: [0.1])
        func lse(_ xs: [Double]) -> Double { let m = xs.max()!; return m + log(xs.map { exp($0 - m) }.reduce(0, +)) }
        let d0 = 0.5 - lse([0.1, -0.3]), d1 = lse([0.2, -0.4]) - lse([1.0, 0.5])
        let expected = (d0 * d0 + d1 * d1) / 2 + 0.09
        let loss = flowMatchingLoss(inflow: Variable(inflow), inflowMask: inMask, outflow: Variable(outflow), outflowMask: outMask,
                                    exitLogFlows: Variable(exitFlows), logRewards: rewards)
        XCTAssertEqual(Double(loss.value.scalar), expected, accuracy: 1e-6)
        assertGradientsMatchFiniteDifferences([inflow, outflow, exitFlows]) { v in
            flowMatchingLoss(inflow: v[0], inflowMask: inMask, outflow: v[1], outflowMask: outMask,
                             exitLogFlows: v[2], logRewards: rewards)
        }
    }

    /// The on-policy fast path (activations kept from sampling) gives the same log-probabilities and
    /// gradients as re-evaluating the visited states.
    func testRecordedAndRecomputedLogProbabilitiesAgree() throws {
        let env = HyperGrid(ndim: 2, height: 5)
        var rng = RandomGenerator(seed: 1)
        let estimator = PolicyEstimator(inputDimension: env.encodingDimension, actionCount: env.actionCount, hiddenWidth: 32,
                                        hiddenLayers: 2, uniformBackward: false, logFlowHead: true, rng: &rng)
        var sampleRNG = RandomGenerator(seed: 2)
        let (batch, recorded) = try estimator.sampleTrajectories(environment: env, batchSize: 8, options: SamplingOptions(),
                                                                 rng: &sampleRNG, recordGraph: true)
        let fast = estimator.logProbabilities(of: batch, environment: env, recorded: recorded)
        let slow = estimator.logProbabilities(of: batch, environment: env)
        assertClose(fast.logPF.value, slow.logPF.value.scalars, tol: 1e-5)
        assertClose(fast.logPB.value, slow.logPB.value.scalars, tol: 1e-5)
        assertClose(fast.logF!.value, slow.logF!.value.scalars, tol: 1e-5)
        // Every trajectory's exit is its last transition; log-probs are ≤ 0 and zero-padded.
        for (b, n) in batch.lengths.enumerated() {
            for t in 0..<batch.maxLength {
                let pf = fast.logPF.value[flat: t * 8 + b]
                if t < n { XCTAssertLessThanOrEqual(pf, 0) } else { XCTAssertEqual(pf, 0) }
                if t >= n - 1 { XCTAssertEqual(fast.logPB.value[flat: t * 8 + b], 0) }
            }
        }
        let z = Variable(Tensor(shape: [1], scalars: [0.3]), requiresGrad: true)
        trajectoryBalanceLoss(fast, logZ: z).backward()
        let g1 = estimator.parameters.map { $0.grad!.scalars }
        estimator.zeroGrad()
        trajectoryBalanceLoss(slow, logZ: z).backward()
        for (a, p) in zip(g1, estimator.parameters) { assertClose(a, p.grad!.scalars, tol: 1e-4) }
    }
}

/// cosh without Foundation.
func Foundation_cosh(_ x: Double) -> Double { (exp(x) + exp(-x)) / 2 }
