import XCTest
import FlowGen
import _FlowGenTestSupport

/// HyperGrid definition (torchgfn), exact log Z constants and the exact terminating distribution.
final class HyperGridTests: XCTestCase {
    func testLogZConstantsAndModeCounts() throws {
        // (ndim, height, r0, log Z, mode cells) from the issue / reference sheet.
        let cases: [(Int, Int, Double, Double, Int)] = [
            (2, 8, 0.1, 3.1091, 4), (4, 8, 0.1, 6.3449, 16), (4, 8, 0.01, 5.3031, 16), (2, 64, 0.1, 7.0980, 144),
            (2, 16, 0.1, 4.1836, 4),
        ]
        for (d, h, r0, logZ, modes) in cases {
            let env = HyperGrid(ndim: d, height: h, r0: r0)
            let dag = try EnumeratedDAG(env)
            let (p, z) = try targetDistribution(env, dag: dag)
            XCTAssertEqual(z, logZ, accuracy: 5e-5, "log Z of D=\(d) H=\(h) R0=\(r0)")
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
            XCTAssertEqual(env.isMode(dag.states, count: dag.stateCount).filter { $0 }.count, modes, "modes of D=\(d) H=\(h)")
        }
    }

    func testRewardBandsMasksStepsAndEncoding() throws {
        let env = HyperGrid(ndim: 2, height: 8)
        // Band indices {1, 6}; outer region {0, 1, 6, 7}.
        XCTAssertEqual(env.reward([1, 6]), 2.6, accuracy: 1e-12)
        XCTAssertEqual(env.reward([0, 7]), 0.6, accuracy: 1e-12)
        XCTAssertEqual(env.reward([0, 3]), 0.1, accuracy: 1e-12)
        // H = 16: index 12 gives a = 0.30000000000000004, excluded by the ε guard.
        let g16 = HyperGrid(ndim: 1, height: 16)
        XCTAssertEqual(g16.reward([12]), 0.6, accuracy: 1e-12)
        XCTAssertEqual(g16.reward([13]), 2.6, accuracy: 1e-12)

        let states: [Int32] = [0, 0, 7, 3, 7, 7]
        XCTAssertEqual(env.forwardMask(states, count: 3), [true, true, true, false, true, true, false, false, true])
        XCTAssertEqual(env.backwardMask(states, count: 3), [false, false, true, true, true, true])
        XCTAssertEqual(env.step([0, 0, 2, 3], actions: [1, 0], count: 2), [0, 1, 3, 3])
        XCTAssertEqual(env.backwardStep([0, 1, 3, 3], actions: [1, 0], count: 2), [0, 0, 2, 3])
        let x = env.encodedTensor([2, 5], count: 1).scalars
        XCTAssertEqual(x.count, 16)
        XCTAssertEqual(x.indices.filter { x[$0] == 1 }, [2, 13])
        XCTAssertEqual(x.reduce(0, +), 2)
        XCTAssertEqual(env.stateIndex([2, 5], count: 1), [2 + 5 * 8])
        XCTAssertEqual(env.maxTrajectoryLength, 15)
    }

    /// DP on a uniform policy against a closed form: on a 1-D grid with uniform P_F the exit
    /// probability is 1/2 until the top cell, so P_T(k) = 2^−(k+1) and P_T(H−1) = 2^−(H−1).
    func testExactDistributionOfUniformPolicyClosedForm() throws {
        let env = HyperGrid(ndim: 1, height: 5)
        let dag = try EnumeratedDAG(env)
        var p = [Double]()
        for i in 0..<dag.stateCount {
            let valid = (0..<2).filter { dag.forwardMask[i * 2 + $0] }.count
            for j in 0..<2 { p.append(dag.forwardMask[i * 2 + j] ? 1 / Double(valid) : 0) }
        }
        let pt = exactTerminatingDistribution(dag: dag, forwardProbabilities: p)
        for (k, v) in pt.enumerated() {
            XCTAssertEqual(v, k < 4 ? pow(0.5, Double(k + 1)) : pow(0.5, 4), accuracy: 1e-15)
        }
    }

    /// The exact P_T of an (untrained) policy equals the empirical distribution of its samples.
    func testExactDistributionMatchesMonteCarloSamples() throws {
        var c = GFlowNetTrainer.Configuration()
        c.hiddenWidth = 16; c.seed = 3
        let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 4), configuration: c)
        let exact = try trainer.exactDistribution()
        XCTAssertEqual(exact.reduce(0, +), 1, accuracy: 1e-9)
        let n = 40_000
        let samples = try trainer.sample(n, seed: 11)
        let idx = trainer.environment.stateIndex(samples, count: n)
        var counts = [Double](repeating: 0, count: exact.count)
        for i in idx { counts[i] += 1 }
        for (i, p) in exact.enumerated() {
            let emp = counts[i] / Double(n)
            let sigma = (p * (1 - p) / Double(n)).squareRoot()
            XCTAssertLessThan(Swift.abs(emp - p), 5 * sigma + 1e-3, "state \(i): empirical \(emp) vs exact \(p)")
        }
        // Sampling is reproducible from its seed (and does not touch the training generator).
        XCTAssertEqual(try trainer.sample(100, seed: 5), try trainer.sample(100, seed: 5))
        XCTAssertNotEqual(try trainer.sample(100, seed: 5), try trainer.sample(100, seed: 6))
    }

    func testDistanceMetrics() {
        let d = DistributionDistances(learned: [0.5, 0.5, 0], target: [0.25, 0.25, 0.5])
        XCTAssertEqual(d.l1, 1, accuracy: 1e-12)
        XCTAssertEqual(d.tv, 0.5, accuracy: 1e-12)
        // JSD: M = [0.375, 0.375, 0.25]
        let jsd = 0.5 * (2 * 0.5 * log(0.5 / 0.375)) + 0.5 * (2 * 0.25 * log(0.25 / 0.375) + 0.5 * log(0.5 / 0.25))
        XCTAssertEqual(d.jsd, jsd, accuracy: 1e-12)
        XCTAssertEqual(DistributionDistances(learned: [0.2, 0.8], target: [0.2, 0.8]).jsd, 0, accuracy: 1e-15)
    }
}
