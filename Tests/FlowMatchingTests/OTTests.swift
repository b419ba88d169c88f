import XCTest
import FlowGen

final class OTTests: XCTestCase {
    private func permutations(_ n: Int) -> [[Int]] {
        if n == 0 { return [[]] }
        var out: [[Int]] = []
        for p in permutations(n - 1) { for i in 0...p.count { var q = p; q.insert(n - 1, at: i); out.append(q) } }
        return out
    }

    func testAssignmentMatchesBruteForce() {
        var rng = RandomGenerator(seed: 11)
        for trial in 0..<40 {
            let n = 1 + trial % 7
            var cost = (0..<(n * n)).map { _ in Double(rng.nextUniform()) * 10 }
            if trial % 5 == 0 { cost = cost.map { ($0 * 0.5).rounded() } }   // ties
            let a = cost.withUnsafeBufferPointer { linearSumAssignment(cost: $0.baseAddress!, rows: n, columns: n) }
            XCTAssertEqual(Set(a).count, n)
            let got = (0..<n).reduce(0.0) { $0 + cost[$1 * n + a[$1]] }
            let best = permutations(n).map { p in (0..<n).reduce(0.0) { $0 + cost[$1 * n + p[$1]] } }.min()!
            XCTAssertEqual(got, best, accuracy: 1e-9, "n = \(n)")
        }
    }

    /// LAPJV against the plain Hungarian method on larger problems: clustered points (long augmenting
    /// paths), many ties (small integer costs) and a structured (constant-row) matrix.
    func testJonkerVolgenantMatchesHungarianOnLargerProblems() {
        var rng = RandomGenerator(seed: 21)
        for trial in 0..<9 {
            let n = [50, 120, 200, 64, 97, 150, 256, 130, 90][trial]
            let a = ToyDistribution.eightGaussians.sample(n, rng: &rng), b = rng.normal([n, 2])
            var cost = squaredDistances(b, a)
            if trial == 3 { cost = cost.map { ($0 / 10).rounded() } }
            if trial == 4 { cost = (0..<(n * n)).map { Double(($0 / n) % 3) } }
            // The auction bids in single precision: costs far from zero (shifted copy) and costs below
            // Float's range (plain JV start) must stay exact.
            // Totals are compared on the untransformed costs.
            let base = cost
            if trial == 7 { cost = cost.map { $0 + 1e7 } }
            if trial == 8 { cost = cost.map { $0 * 1e-200 } }
            let fast = cost.withUnsafeBufferPointer { jonkerVolgenantAssignment(cost: $0.baseAddress!, n: n) }
            let ref = cost.withUnsafeBufferPointer { hungarianAssignment(cost: $0.baseAddress!, rows: n, columns: n) }
            XCTAssertEqual(Set(fast).count, n, "trial \(trial): not a permutation")
            let cf = (0..<n).reduce(0.0) { $0 + base[$1 * n + fast[$1]] }
            let cr = (0..<n).reduce(0.0) { $0 + base[$1 * n + ref[$1]] }
            XCTAssertEqual(cf, cr, accuracy: 1e-9 * max(1, abs(cr)), "trial \(trial)")
        }
    }

    func testRectangularAssignmentMatchesBruteForce() {
        var rng = RandomGenerator(seed: 12)
        for _ in 0..<10 {
            let n = 3, m = 5
            let cost = (0..<(n * m)).map { _ in Double(rng.nextUniform()) }
            let a = cost.withUnsafeBufferPointer { linearSumAssignment(cost: $0.baseAddress!, rows: n, columns: m) }
            XCTAssertEqual(Set(a).count, n)
            var best = Double.infinity
            for i in 0..<m { for j in 0..<m where j != i { for k in 0..<m where k != i && k != j {
                best = min(best, cost[i] + cost[m + j] + cost[2 * m + k])
            } } }
            XCTAssertEqual((0..<n).reduce(0.0) { $0 + cost[$1 * m + a[$1]] }, best, accuracy: 1e-12)
        }
    }

    func testW2OfShiftedCopyIsTheShift() {
        var rng = RandomGenerator(seed: 2)
        let a = rng.normal([300, 2])
        let b = a + Tensor(shape: [2], scalars: [3, 4])
        // The identity pairing is optimal for a translation: W2 = |shift| = 5.
        XCTAssertEqual(wasserstein2(a, b), 5, accuracy: 1e-4)
        XCTAssertEqual(wasserstein2(a, a), 0, accuracy: 1e-9)
    }

    func testExactOTCouplingNeverIncreasesCost() {
        var rng = RandomGenerator(seed: 5)
        let x0 = rng.normal([64, 2]), x1 = rng.normal([64, 2], mean: 3)
        let (p0, p1) = Coupling.exactOT.pair(x0, x1, rng: &rng)
        func cost(_ a: Tensor, _ b: Tensor) -> Float { ((a - b) * (a - b)).sum() }
        XCTAssertLessThan(cost(p0, p1), cost(x0, x1))
        XCTAssertEqual(Double(cost(p0, p1)) / 64, pow(wasserstein2(x0, x1), 2), accuracy: 1e-3)
        XCTAssertEqual(p0.sum(), x0.sum(), accuracy: 1e-3)   // a permutation of x0
    }

    func testMMDSeparatesDistributions() {
        var rng = RandomGenerator(seed: 31)
        let a = rng.normal([300, 2]), b = rng.normal([300, 2]), c = rng.normal([300, 2], mean: 1)
        XCTAssertEqual(mmdSquared(a, a, bandwidth: 1), 0, accuracy: 1e-9)
        XCTAssertLessThan(mmdSquared(a, b, bandwidth: 1), 0.02)
        XCTAssertGreaterThan(mmdSquared(a, c, bandwidth: 1), 0.1)
    }

    func testSinkhornMarginalsAndLimit() {
        var rng = RandomGenerator(seed: 8)
        let n = 20, m = 30
        let a = rng.normal([n, 2]), b = rng.normal([m, 2], mean: 1)
        let cost = squaredDistances(a, b)
        for eps in [0.05, 1.0, 10.0] {
            let r = logSinkhorn(cost: cost, rows: n, columns: m, epsilon: eps, maxIterations: 5000, tolerance: 1e-10)
            for i in 0..<n { XCTAssertEqual((0..<m).reduce(0.0) { $0 + r.plan[i * m + $1] }, 1 / Double(n), accuracy: 1e-8) }
            for j in 0..<m { XCTAssertEqual((0..<n).reduce(0.0) { $0 + r.plan[$1 * m + j] }, 1 / Double(m), accuracy: 1e-8) }
        }
        // Small ε on a square problem approaches the exact OT cost.
        let sq = squaredDistances(a, rng.normal([n, 2]))
        let exact = sq.withUnsafeBufferPointer { linearSumAssignment(cost: $0.baseAddress!, rows: n, columns: n) }
        let exactCost = (0..<n).reduce(0.0) { $0 + sq[$1 * n + exact[$1]] } / Double(n)
        let r = logSinkhorn(cost: sq, rows: n, columns: n, epsilon: 1e-3, maxIterations: 20000, tolerance: 1e-9)
        let entropicCost = zip(r.plan, sq).reduce(0.0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(entropicCost, exactCost, accuracy: 0.02 * exactCost + 1e-3)
    }

    func testDatasetsHaveDocumentedScale() {
        var rng = RandomGenerator(seed: 0)
        let g = ToyDistribution.eightGaussians.sample(8000, rng: &rng)
        var radius = 0.0
        for i in 0..<8000 { radius += Double((g[flat: 2 * i] * g[flat: 2 * i] + g[flat: 2 * i + 1] * g[flat: 2 * i + 1]).squareRoot()) }
        XCTAssertEqual(radius / 8000, 5.1, accuracy: 0.2)   // centres at 5, unit std adds ≈ 0.1 on average
        let moons = ToyDistribution.moons.sample(2000, rng: &rng)
        let xs = (0..<2000).map { moons[flat: 2 * $0] }, ys = (0..<2000).map { moons[flat: 2 * $0 + 1] }
        XCTAssertEqual(Double(xs.min()!), -3, accuracy: 0.3); XCTAssertEqual(Double(xs.max()!), 3, accuracy: 0.3)
        XCTAssertEqual(Double(ys.min()!), -1, accuracy: 0.3); XCTAssertEqual(Double(ys.max()!), 2, accuracy: 0.3)
        for d in ToyDistribution.allCases { XCTAssertTrue(d.sample(100, rng: &rng).isFinite, d.rawValue) }
    }
}
