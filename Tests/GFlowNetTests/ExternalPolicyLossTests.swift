import XCTest
import FlowGen
import _FlowGenTestSupport

/// External-policy mode: losses on caller-supplied log-probabilities equal the trainer's own losses on
/// the same numbers, gradients match finite differences, ignored entries are ignored, and the
/// forward-looking form is SubTB/DB with log F = log F̃ − E.
final class ExternalPolicyLossTests: XCTestCase {
    /// The tiny batch of ObjectiveTests (B = 2, T = 3, lengths 2 and 3) with junk in ignored entries.
    func tinyBatch(junk: Float = .nan) -> ExternalTrajectoryBatch {
        // Ignored: log_pf/log_f at (t=2, b=0); log_pb at (1, 0), (2, 0), (2, 1).
        ExternalTrajectoryBatch(maxLength: 3, batchSize: 2,
                                logPF: [-0.5, -1.0, -0.2, -0.7, junk, -0.3],
                                logPB: [-0.1, -0.4, junk, -0.6, junk, junk],
                                logF: [1.0, 1.2, 0.5, 0.8, junk, 0.3],
                                logRewards: [0.2, -0.5], lengths: [2, 3])
    }

    func testHandValuesMatchObjectiveGoldens() {
        var tb = tinyBatch()
        tb.logF = nil
        // Same goldens as ObjectiveTests (TB 0.745 with log Z 1.5; ZVar 0.0225; DB 0.094; SubTB λ 0.5).
        XCTAssertEqual(externalPolicyLoss(tb, objective: .trajectoryBalance(logZ: 1.5)).loss, 0.745, accuracy: 1e-6)
        XCTAssertEqual(externalPolicyLoss(tb, objective: .logPartitionVariance).loss, 0.0225, accuracy: 1e-6)
        XCTAssertEqual(externalPolicyLoss(tinyBatch(), objective: .detailedBalance).loss, 0.094, accuracy: 1e-6)
        XCTAssertEqual(externalPolicyLoss(tinyBatch(), objective: .subTrajectoryBalance(lambda: 0.5)).loss,
                       Float((0.04 / 2.5 + 0.9975 / 4.25) / 2), accuracy: 1e-6)
        // d/d log Z of mean δ² = 2·mean δ = 2·(0.7 + 1.0)/2.
        XCTAssertEqual(externalPolicyLoss(tb, objective: .trajectoryBalance(logZ: 1.5)).gradLogZ, 1.7, accuracy: 1e-5)
    }

    /// Central differences over every array entry (the squared objectives are quadratic in the inputs,
    /// so h = 0.01 differences are exact up to Float32 rounding); ignored entries must get gradient 0.
    func checkGradients(_ batch: ExternalTrajectoryBatch, _ objective: ExternalPolicyObjective,
                        file: StaticString = #filePath, line: UInt = #line) {
        let r = externalPolicyLoss(batch, objective: objective)
        let h: Float = 0.01
        func numeric(_ mutate: (inout ExternalTrajectoryBatch, Float) -> Void) -> Float {
            var plus = batch, minus = batch
            mutate(&plus, h); mutate(&minus, -h)
            return (externalPolicyLoss(plus, objective: objective).loss - externalPolicyLoss(minus, objective: objective).loss) / (2 * h)
        }
        let n = batch.maxLength * batch.batchSize
        for i in 0..<n {
            if batch.logPF[i].isFinite {
                XCTAssertEqual(r.gradLogPF[i], numeric { $0.logPF[i] += $1 }, accuracy: 2e-3, "log_pf[\(i)]", file: file, line: line)
            } else {
                XCTAssertEqual(r.gradLogPF[i], 0, file: file, line: line)
            }
            if batch.logPB[i].isFinite {
                XCTAssertEqual(r.gradLogPB[i], numeric { $0.logPB[i] += $1 }, accuracy: 2e-3, "log_pb[\(i)]", file: file, line: line)
            } else {
                XCTAssertEqual(r.gradLogPB[i], 0, file: file, line: line)
            }
            if let f = batch.logF {
                if f[i].isFinite {
                    XCTAssertEqual(r.gradLogF![i], numeric { $0.logF![i] += $1 }, accuracy: 2e-3, "log_f[\(i)]", file: file, line: line)
                } else {
                    XCTAssertEqual(r.gradLogF![i], 0, file: file, line: line)
                }
            }
        }
        if case .trajectoryBalance(let z) = objective {
            let plus = externalPolicyLoss(batch, objective: .trajectoryBalance(logZ: z + h)).loss
            let minus = externalPolicyLoss(batch, objective: .trajectoryBalance(logZ: z - h)).loss
            XCTAssertEqual(r.gradLogZ, (plus - minus) / (2 * h), accuracy: 2e-3, file: file, line: line)
        }
    }

    func testGradientsMatchFiniteDifferencesAndIgnoredEntriesGetZero() {
        var tb = tinyBatch()
        tb.logF = nil
        checkGradients(tb, .trajectoryBalance(logZ: 0.3))
        checkGradients(tb, .logPartitionVariance)
        checkGradients(tinyBatch(), .detailedBalance)
        checkGradients(tinyBatch(), .subTrajectoryBalance(lambda: 0.9))
        var fl = tinyBatch()
        fl.energies = [0.3, -0.2, 0.7, 0.1, .nan, -0.4]
        checkGradients(fl, .subTrajectoryBalance(lambda: 0.9))
        checkGradients(fl, .detailedBalance)
    }

    /// FL-SubTB / FL-DB = SubTB / DB on log F(s) = log F̃(s) − E(s); gradients w.r.t. log F̃ are SubTB's
    /// gradients w.r.t. log F. With E = 0 it is plain SubTB.
    func testForwardLookingIsTheEnergySubstitution() {
        let energies: [Float] = [0.3, -0.2, 0.7, 0.1, 5, -0.4]   // 5 sits in an ignored entry
        var fl = tinyBatch(junk: 0)
        fl.energies = energies
        var plain = tinyBatch(junk: 0)
        plain.logF = zip(plain.logF!, energies).map { $0 - $1 }
        for objective in [ExternalPolicyObjective.subTrajectoryBalance(lambda: 0.7), .detailedBalance] {
            let a = externalPolicyLoss(fl, objective: objective), b = externalPolicyLoss(plain, objective: objective)
            XCTAssertEqual(a.loss, b.loss, accuracy: 1e-6)
            for (x, y) in zip(a.gradLogF!, b.gradLogF!) { XCTAssertEqual(x, y, accuracy: 1e-6) }
            XCTAssertNotEqual(a.loss, externalPolicyLoss(tinyBatch(junk: 0), objective: objective).loss)
        }
        var zero = tinyBatch()
        zero.energies = [Float](repeating: 0, count: 6)
        XCTAssertEqual(externalPolicyLoss(zero, objective: .subTrajectoryBalance(lambda: 0.7)).loss,
                       externalPolicyLoss(tinyBatch(), objective: .subTrajectoryBalance(lambda: 0.7)).loss)
    }

    /// The trainer's own loss on a sampled batch equals the external loss on the batch's exported
    /// log-probabilities (TB with a non-zero log Z, DB, SubTB, ZVar).
    func testMatchesTrainerLossOnSampledBatch() throws {
        for objective in [GFlowNetObjective.trajectoryBalance, .detailedBalance, .subTrajectoryBalance, .logPartitionVariance] {
            var c = GFlowNetTrainer.Configuration()
            c.objective = objective; c.hiddenWidth = 32; c.batchSize = 8; c.seed = 3; c.lambda = 0.8
            let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 5), configuration: c)
            try trainer.train(trajectories: 32)   // move away from the initial weights
            trainer.logZ.assign(Tensor(shape: [1], scalars: [0.75]))
            var rng = RandomGenerator(seed: 11)
            let (batch, _) = try trainer.estimator.sampleTrajectories(environment: trainer.environment, batchSize: 8,
                                                                      options: SamplingOptions(), rng: &rng, recordGraph: false)
            let expected = trainer.loss(of: batch, recorded: nil).value.scalar
            let lp = trainer.estimator.logProbabilities(of: batch, environment: trainer.environment)
            let external = ExternalTrajectoryBatch(
                maxLength: lp.maxLength, batchSize: lp.batchSize, logPF: lp.logPF.value.scalars,
                logPB: lp.logPB.value.scalars, logF: objective.usesLogFlow ? lp.logF!.value.scalars : nil,
                logRewards: lp.logRewards.scalars, lengths: lp.lengths)
            let ext: ExternalPolicyObjective
            switch objective {
            case .trajectoryBalance: ext = .trajectoryBalance(logZ: 0.75)
            case .detailedBalance: ext = .detailedBalance
            case .subTrajectoryBalance: ext = .subTrajectoryBalance(lambda: 0.8)
            default: ext = .logPartitionVariance
            }
            XCTAssertNil(external.problem(for: ext))
            let got = externalPolicyLoss(external, objective: ext).loss
            XCTAssertEqual(got, expected, accuracy: 1e-5 * Swift.max(1, Swift.abs(expected)), "\(objective.name)")
        }
    }

    /// Incomplete trajectories (no exit, no reward; forward-looking training on partial trajectories):
    /// hand values for DB and SubTB, a mixed batch is the mean of its parts, and gradients match.
    func testIncompleteTrajectories() {
        let (p0, p1, b0, b1, f0, f1, f2, e0, e1, e2): (Float, Float, Float, Float, Float, Float, Float, Float, Float, Float) =
            (-0.4, -0.9, -0.3, -0.2, 1.1, 0.6, 0.2, 0.3, -0.1, 0.5)
        // T = 3, B = 1, n = 2 transitions s0 → s1 → s2 (incomplete): log F at rows 0…2.
        var inc = ExternalTrajectoryBatch(maxLength: 3, batchSize: 1, logPF: [p0, p1, .nan], logPB: [b0, b1, .nan],
                                          logF: [f0, f1, f2], energies: [e0, e1, e2], logRewards: [.nan], lengths: [2],
                                          complete: [false])
        XCTAssertNil(inc.problem(for: .detailedBalance))
        let g0 = f0 - e0, g1 = f1 - e1, g2 = f2 - e2                 // log F = log F̃ − E
        let d01 = g0 + p0 - b0 - g1, d12 = g1 + p1 - b1 - g2, d02 = g0 + p0 + p1 - b0 - b1 - g2
        XCTAssertEqual(externalPolicyLoss(inc, objective: .detailedBalance).loss, (d01 * d01 + d12 * d12) / 2, accuracy: 1e-6)
        let lambda: Float = 0.6
        XCTAssertEqual(externalPolicyLoss(inc, objective: .subTrajectoryBalance(lambda: lambda)).loss,
                       (d01 * d01 + d12 * d12 + lambda * d02 * d02) / (2 + lambda), accuracy: 1e-6)
        checkGradients(inc, .subTrajectoryBalance(lambda: lambda))
        checkGradients(inc, .detailedBalance)
        // Mixed with a complete trajectory: SubTB is the mean over trajectories of each alone.
        let comp = ExternalTrajectoryBatch(maxLength: 3, batchSize: 1, logPF: [-0.7, -0.2, -1.1], logPB: [-0.5, -0.6, .nan],
                                           logF: [0.9, 0.4, 0.1], energies: [0.2, 0.1, 0.0], logRewards: [-0.3], lengths: [3])
        let mixed = ExternalTrajectoryBatch(maxLength: 3, batchSize: 2,
                                            logPF: [comp.logPF[0], p0, comp.logPF[1], p1, comp.logPF[2], .nan],
                                            logPB: [comp.logPB[0], b0, comp.logPB[1], b1, .nan, .nan],
                                            logF: [0.9, f0, 0.4, f1, 0.1, f2], energies: [0.2, e0, 0.1, e1, 0.0, e2],
                                            logRewards: [-0.3, .nan], lengths: [3, 2], complete: [true, false])
        let sub = ExternalPolicyObjective.subTrajectoryBalance(lambda: lambda)
        XCTAssertEqual(externalPolicyLoss(mixed, objective: sub).loss,
                       (externalPolicyLoss(comp, objective: sub).loss + externalPolicyLoss(inc, objective: sub).loss) / 2, accuracy: 1e-6)
        // DB weights by transitions: 3 complete + 2 incomplete.
        XCTAssertEqual(externalPolicyLoss(mixed, objective: .detailedBalance).loss,
                       (3 * externalPolicyLoss(comp, objective: .detailedBalance).loss + 2 * externalPolicyLoss(inc, objective: .detailedBalance).loss) / 5,
                       accuracy: 1e-6)
        checkGradients(mixed, sub)
        // Problems: TB cannot use incomplete trajectories; n must leave room for log F(s_n).
        var tb = inc
        tb.logF = nil; tb.energies = nil
        XCTAssertEqual(tb.issue(for: .trajectoryBalance(logZ: 0))?.kind, .invalid)
        inc.lengths = [3]
        XCTAssertEqual(inc.issue(for: .detailedBalance)?.kind, .invalid)
    }

    func testProblemsAreReported() {
        var b = tinyBatch()
        b.logPF[1] = .nan                 // inside trajectory 1
        XCTAssertEqual(b.issue(for: .detailedBalance)?.kind, .nonFinite)
        b = tinyBatch(); b.lengths = [0, 3]
        XCTAssertEqual(b.issue(for: .detailedBalance)?.kind, .invalid)
        b = tinyBatch(); b.lengths = [2, 4]
        XCTAssertEqual(b.issue(for: .detailedBalance)?.kind, .invalid)
        b = tinyBatch(); b.logRewards[0] = -.infinity
        XCTAssertEqual(b.issue(for: .detailedBalance)?.kind, .nonFinite)
        XCTAssertEqual(tinyBatch().issue(for: .subTrajectoryBalance(lambda: 0))?.kind, .invalid)
        XCTAssertEqual(tinyBatch().issue(for: .trajectoryBalance(logZ: 0))?.kind, .invalid)  // log F given to TB
        b = tinyBatch(); b.logF = nil
        XCTAssertEqual(b.issue(for: .trajectoryBalance(logZ: .nan))?.kind, .nonFinite)
        XCTAssertNil(b.issue(for: .trajectoryBalance(logZ: 0)))
        XCTAssertEqual(b.issue(for: .subTrajectoryBalance(lambda: 0.5))?.kind, .invalid)  // needs log F
    }
}

extension GFlowNetObjective {
    var usesLogFlow: Bool { self == .detailedBalance || self == .subTrajectoryBalance }
}
