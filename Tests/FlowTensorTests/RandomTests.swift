import XCTest
import FlowGen
import _FlowGenTestSupport

/// The seeded generator: reproducibility, reference stream, and distribution statistics. Tolerances
/// are ≈ 5 standard errors of the estimate at the stated sample size.
final class RandomTests: XCTestCase {
    func testKnownAnswerStream() {
        // xoshiro256** seeded by SplitMix64, recomputed independently (Python reference implementation).
        var g0 = RandomGenerator(seed: 0)
        XCTAssertEqual([g0.next(), g0.next(), g0.next()], [0x99ec_5f36_cb75_f2b4, 0xbf6e_1f78_4956_452a, 0x1a5f_849d_4933_e6e0])
        var g42 = RandomGenerator(seed: 42)
        XCTAssertEqual([g42.next(), g42.next(), g42.next()], [0x1578_0b2e_0c2e_c716, 0x6104_d986_6d11_3a7e, 0xae17_5332_39e4_99a1])
    }

    func testSameSeedSameStreamDifferentSeedsDiffer() {
        var a = RandomGenerator(seed: 7), b = RandomGenerator(seed: 7), c = RandomGenerator(seed: 8)
        let sa = (0..<100).map { _ in a.next() }, sb = (0..<100).map { _ in b.next() }, sc = (0..<100).map { _ in c.next() }
        XCTAssertEqual(sa, sb)
        XCTAssertEqual(zip(sa, sc).filter { $0 == $1 }.count, 0)
        var n1 = RandomGenerator(seed: 7), n2 = RandomGenerator(seed: 7)
        XCTAssertEqual(n1.normal([50]).scalars, n2.normal([50]).scalars)
    }

    func testStateSaveRestoreContinuesTheStream() {
        var g = RandomGenerator(seed: 123)
        for _ in 0..<17 { _ = g.next() }
        let saved = g.stateWords
        let expected = (0..<10).map { _ in g.nextUniform() }
        var restored = RandomGenerator(state: (saved[0], saved[1], saved[2], saved[3]))
        XCTAssertEqual((0..<10).map { _ in restored.nextUniform() }, expected)
        var copy = RandomGenerator(state: g.state)
        XCTAssertEqual(copy.next(), g.next())
        // The all-zero state (a fixed point of xoshiro) is replaced by a working one.
        var zero = RandomGenerator(state: (0, 0, 0, 0))
        XCTAssertNotEqual(zero.next() | zero.next(), 0)
    }

    private func meanAndVariance(_ xs: [Float]) -> (Double, Double) {
        let n = Double(xs.count)
        let mean = xs.reduce(0.0) { $0 + Double($1) } / n
        let variance = xs.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (mean, variance)
    }

    func testUniformMoments() {
        var g = RandomGenerator(seed: 1)
        let u = g.uniform([100_000]).scalars
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        let (mean, variance) = meanAndVariance(u)
        XCTAssertEqual(mean, 0.5, accuracy: 0.005)              // se 9.1e-4
        XCTAssertEqual(variance, 1.0 / 12, accuracy: 0.0015)    // se 2.4e-4
        let shifted = g.uniform([100_000], low: -2, high: 4).scalars
        XCTAssertTrue(shifted.allSatisfy { $0 >= -2 && $0 < 4 })
        let (m2, v2) = meanAndVariance(shifted)
        XCTAssertEqual(m2, 1, accuracy: 0.03)
        XCTAssertEqual(v2, 3, accuracy: 0.06)
    }

    func testNormalMoments() {
        var g = RandomGenerator(seed: 2)
        let (mean, variance) = meanAndVariance(g.normal([100_000]).scalars)
        XCTAssertEqual(mean, 0, accuracy: 0.016)                  // se 3.2e-3
        XCTAssertEqual(variance.squareRoot(), 1, accuracy: 0.012) // se 2.2e-3
        let (m2, v2) = meanAndVariance(g.normal([100_000], mean: 3, std: 0.5).scalars)
        XCTAssertEqual(m2, 3, accuracy: 0.008)
        XCTAssertEqual(v2.squareRoot(), 0.5, accuracy: 0.006)
        // Tails: P(|z| > 2) = 0.0455 (se 6.6e-4 at n = 1e5).
        let z = g.normal([100_000]).scalars
        XCTAssertEqual(Double(z.filter { Swift.abs($0) > 2 }.count) / 1e5, 0.0455, accuracy: 0.0035)
    }

    func testBernoulliRateAndIntegers() {
        var g = RandomGenerator(seed: 3)
        let b = g.bernoulli([100_000], probability: 0.3).scalars
        XCTAssertTrue(b.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertEqual(Double(b.reduce(0, +)) / 1e5, 0.3, accuracy: 0.0075)   // se 1.45e-3
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[g.nextInt(below: 7)] += 1 }
        // χ² with 6 degrees of freedom; P(χ² > 30) ≈ 4e-5.
        let chi2 = counts.reduce(0.0) { $0 + (Double($1) - 10_000) * (Double($1) - 10_000) / 10_000 }
        XCTAssertLessThan(chi2, 30)
    }

    func testPermutationIsAPermutation() {
        var g = RandomGenerator(seed: 4)
        let p = g.permutation(50)
        XCTAssertEqual(p.sorted(), Array(0..<50))
        XCTAssertNotEqual(p, Array(0..<50))
        XCTAssertEqual(g.permutation(0), [])
        XCTAssertEqual(g.permutation(1), [0])
        // Every position is uniform: element 0 lands in each of 4 slots ≈ 1/4 of the time.
        var slots = [Int](repeating: 0, count: 4)
        for _ in 0..<8_000 { slots[g.permutation(4).firstIndex(of: 0)!] += 1 }
        XCTAssertTrue(slots.allSatisfy { Swift.abs($0 - 2_000) < 200 }, "\(slots)")
    }

    func testCategoricalMatchesSoftmaxAndNeverPicksMinusInfinity() {
        let row: [Float] = [0.5, -Float.infinity, 1.5, -0.5, 0]
        let rows = 40_000
        let logits = Tensor(shape: [rows, 5], scalars: Array((0..<rows).map { _ in row }.joined()))
        var g = RandomGenerator(seed: 5)
        let draws = g.categorical(logits: logits)
        var counts = [Int](repeating: 0, count: 5)
        for d in draws { counts[d] += 1 }
        XCTAssertEqual(counts[1], 0)
        let p = Tensor(shape: [5], scalars: row).softmax(axis: 0).scalars
        var chi2 = 0.0
        for j in [0, 2, 3, 4] {
            let e = Double(p[j]) * Double(rows)
            chi2 += (Double(counts[j]) - e) * (Double(counts[j]) - e) / e
        }
        XCTAssertLessThan(chi2, 25, "\(counts)")   // 3 degrees of freedom; P(χ² > 25) ≈ 1.6e-5
        // A single finite logit is always chosen.
        XCTAssertEqual(g.categorical(logits: Tensor(shape: [3, 3], scalars: [-.infinity, 2, -.infinity,
                                                                              -.infinity, -.infinity, 0,
                                                                              7, -.infinity, -.infinity])), [1, 2, 0])
    }
}
