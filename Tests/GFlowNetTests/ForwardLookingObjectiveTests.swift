import XCTest
import FlowGen
import _FlowGenTestSupport

/// Hand-computed values and finite-difference gradient checks of modified DB, FL-DB and FL-SubTB on
/// the tiny batch of `ObjectiveTests` (B = 2, T = 3; trajectory 0 has 2 transitions, trajectory 1 has 3).
final class ForwardLookingObjectiveTests: XCTestCase {
    let logPF = Tensor(shape: [3, 2], scalars: [-0.5, -1.0, -0.2, -0.7, 0, -0.3])
    let logPB = Tensor(shape: [3, 2], scalars: [-0.1, -0.4, 0, -0.6, 0, 0])
    let logF = Tensor(shape: [3, 2], scalars: [1.0, 1.2, 0.5, 0.8, 0, 0.3])
    let logR = Tensor(shape: [2], scalars: [0.2, -0.5])
    /// log R(s_t) = −E(s_t), equal to log R(x) at the terminal positions (t = 1 of 0, t = 2 of 1).
    let stateLogR = Tensor(shape: [3, 2], scalars: [0.0, 0.1, 0.2, -0.2, 0, -0.5])
    let lengths = [2, 3]

    func batch(_ v: [Variable]) -> TrajectoryLogProbabilities {
        TrajectoryLogProbabilities(logPF: v[0], logPB: v[1], logF: v.count > 2 ? v[2] : nil, lengths: lengths, logRewards: logR)
    }

    func testModifiedDetailedBalanceGoldenAndGradient() {
        let exitPF = Tensor(shape: [3, 2], scalars: [-1.5, -2.0, -0.2, -1.1, 0, -0.3])
        let rewards = Tensor(shape: [3, 2], scalars: [0.0, 0.1, 0.4, -0.2, 0, 0.3])
        // Non-exit transitions: (0, t=0): 0.4 − 0.1 − 1.5 − 0 + 0.5 + 0.2 = −0.5;
        // (1, t=0): −0.2 − 0.4 − 2.0 − 0.1 + 1.0 + 1.1 = −0.6; (1, t=1): 0.3 − 0.6 − 1.1 + 0.2 + 0.7 + 0.3 = −0.2.
        let loss = modifiedDetailedBalanceLoss(batch([Variable(logPF), Variable(logPB)]), exitLogPF: Variable(exitPF),
                                               stateLogRewards: rewards)
        XCTAssertEqual(loss.value.scalar, 0.65 / 3, accuracy: 1e-6)
        assertGradientsMatchFiniteDifferences([logPF, logPB, exitPF]) { v in
            modifiedDetailedBalanceLoss(self.batch([v[0], v[1]]), exitLogPF: v[2], stateLogRewards: rewards)
        }
    }

    func testForwardLookingDetailedBalanceGoldenAndGradient() {
        // log F = log F̃ + log R(s) = [1.0, 1.3; 0.7, 0.6; 0, −0.2].
        // Trajectory 0: 1.0 − 0.5 + 0.1 − 0.7 = −0.1; exit 0.7 − 0.2 − 0.2 = 0.3.
        // Trajectory 1: 1.3 − 1.0 + 0.4 − 0.6 = 0.1; 0.6 − 0.7 + 0.6 + 0.2 = 0.7; exit −0.2 − 0.3 + 0.5 = 0.
        let v = [Variable(logPF), Variable(logPB), Variable(logF)]
        XCTAssertEqual(forwardLookingDetailedBalanceLoss(batch(v), stateLogRewards: stateLogR).value.scalar, 0.12, accuracy: 1e-6)
        // Trajectory 1 incomplete (states s_0, s_1, s_2; no exit): residuals −0.1, 0.3, 0.1, 0.7.
        XCTAssertEqual(forwardLookingDetailedBalanceLoss(batch(v), stateLogRewards: stateLogR, complete: [true, false]).value.scalar,
                       0.15, accuracy: 1e-6)
        // Zero intermediate rewards give plain DB (ObjectiveTests: 0.094).
        XCTAssertEqual(forwardLookingDetailedBalanceLoss(batch(v), stateLogRewards: Tensor(zeros: [3, 2])).value.scalar,
                       detailedBalanceLoss(batch(v)).value.scalar, accuracy: 1e-6)
        assertGradientsMatchFiniteDifferences([logPF, logPB, logF]) { v in
            forwardLookingDetailedBalanceLoss(self.batch(v), stateLogRewards: self.stateLogR, complete: [true, false])
        }
        assertGradientsMatchFiniteDifferences([logPF, logPB, logF]) { v in
            forwardLookingDetailedBalanceLoss(self.batch(v), stateLogRewards: self.stateLogR, penalty: .shiftedCosh)
        }
    }

    func testForwardLookingSubTrajectoryBalanceGoldenAndGradient() {
        let v = [Variable(logPF), Variable(logPB), Variable(logF)]
        // λ = 0.5. Trajectory 0: δ01 = −0.1, δ12 = 0.3, δ02 = 0.2 (w λ); norm 2.5 → 0.12/2.5.
        // Trajectory 1: δ01 = 0.1, δ12 = 0.7, δ23 = 0, δ02 = 0.8, δ13 = 0.7 (w λ), δ03 = 0.8 (w λ²); norm 4.25
        //   → (0.5 + 0.5·1.13 + 0.25·0.64)/4.25 = 1.225/4.25.
        let loss = forwardLookingSubTrajectoryBalanceLoss(batch(v), stateLogRewards: stateLogR, lambda: 0.5)
        XCTAssertEqual(loss.value.scalar, Float((0.048 + 1.225 / 4.25) / 2), accuracy: 1e-6)
        // Trajectory 1 incomplete: δ01 = 0.1, δ12 = 0.7, δ02 = 0.8 (w λ); norm 2.5 → 0.82/2.5.
        let partial = forwardLookingSubTrajectoryBalanceLoss(batch(v), stateLogRewards: stateLogR, lambda: 0.5, complete: [true, false])
        XCTAssertEqual(partial.value.scalar, Float((0.048 + 0.328) / 2), accuracy: 1e-6)
        // Zero intermediate rewards give plain SubTB.
        XCTAssertEqual(forwardLookingSubTrajectoryBalanceLoss(batch(v), stateLogRewards: Tensor(zeros: [3, 2]), lambda: 0.5).value.scalar,
                       subTrajectoryBalanceLoss(batch(v), lambda: 0.5).value.scalar, accuracy: 1e-6)
        assertGradientsMatchFiniteDifferences([logPF, logPB, logF]) { v in
            forwardLookingSubTrajectoryBalanceLoss(self.batch(v), stateLogRewards: self.stateLogR, lambda: 0.5)
        }
        assertGradientsMatchFiniteDifferences([logPF, logPB, logF]) { v in
            forwardLookingSubTrajectoryBalanceLoss(self.batch(v), stateLogRewards: self.stateLogR, lambda: 0.9, complete: [false, true])
        }
    }

    func testPearsonCorrelation() {
        XCTAssertEqual(pearsonCorrelation([1, 2, 3], [2, 4, 6]), 1, accuracy: 1e-12)
        XCTAssertEqual(pearsonCorrelation([1, 2, 3], [3, 2, 1]), -1, accuracy: 1e-12)
        // x = (0, 1, 2, 3), y = (0, 1, 1, 0): cov 0 → 0.
        XCTAssertEqual(pearsonCorrelation([0, 1, 2, 3], [0, 1, 1, 0]), 0, accuracy: 1e-12)
        XCTAssertTrue(pearsonCorrelation([1, 1, 1], [1, 2, 3]).isNaN)
    }
}
