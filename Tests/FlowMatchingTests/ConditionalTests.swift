import XCTest
import FlowGen

/// Class conditioning (label dropout, classifier-free guidance, class-aware OT), the β-schedule VP path,
/// labelled toy data and the sampler-fed trainer.
final class ConditionalTests: XCTestCase {
    /// α̇, σ̇ of the β-VP schedule and the path velocity u_t against central differences of α, σ, x_t.
    func testBetaVPVelocityMatchesFiniteDifferences() {
        let s = BetaVPScheduler(betaMin: 0.1, betaMax: 20)
        let h = 1e-6
        for t in [0.05, 0.2, 0.4, 0.6, 0.8, 0.95] {
            let o = s(t), p = s(t + h), m = s(t - h)
            XCTAssertEqual(o.dAlpha, (p.alpha - m.alpha) / (2 * h), accuracy: 1e-5 * max(1, abs(o.dAlpha)), "t = \(t)")
            XCTAssertEqual(o.dSigma, (p.sigma - m.sigma) / (2 * h), accuracy: 1e-5 * max(1, abs(o.dSigma)), "t = \(t)")
            // Variance preserving: α² + σ² = 1.
            XCTAssertEqual(o.alpha * o.alpha + o.sigma * o.sigma, 1, accuracy: 1e-12)
        }
        // Endpoints in our convention: t = 1 is data (α = 1, σ = 0); t = 0 is α = exp(−(β_min + β_max)/4).
        XCTAssertEqual(s(1).alpha, 1, accuracy: 1e-15)
        XCTAssertEqual(s(1).sigma, 0, accuracy: 1e-15)
        XCTAssertEqual(s(0).alpha, exp(-(0.1 + 20) / 4), accuracy: 1e-12)
        // The batched path: u = d x_t / dt for fixed (x0, x1).
        var rng = RandomGenerator(seed: 3)
        let x0 = rng.normal([4, 2]), x1 = rng.normal([4, 2])
        let path = ProbabilityPath(scheduler: s)
        let ts: [Float] = [0.1, 0.35, 0.6, 0.85]
        let (_, u) = path.sample(x0: x0, x1: x1, t: ts, eps: nil)
        for (r, t) in ts.enumerated() {
            let tp = s(Double(t) + 1e-5), tm = s(Double(t) - 1e-5)
            for j in 0..<2 {
                let k = r * 2 + j
                let fd = ((tp.alpha - tm.alpha) * Double(x1[flat: k]) + (tp.sigma - tm.sigma) * Double(x0[flat: k])) / 2e-5
                XCTAssertEqual(Double(u[flat: k]), fd, accuracy: 1e-3 * max(1, abs(fd)))
            }
        }
    }

    /// Source points of class 0 sit next to the targets of class 1 and vice versa, so unrestricted OT
    /// pairs across classes; the class-aware plan never does and is optimal within each class.
    func testClassAwareOTNeverPairsAcrossClasses() {
        var rng = RandomGenerator(seed: 8)
        let n = 40
        var a = [Float](), b = [Float]()
        var l0 = [Int32](), l1 = [Int32]()
        for i in 0..<n {
            let c = Int32(i % 2)
            let side: Float = c == 0 ? 1 : -1
            a += [side * 3 + 0.3 * rng.nextNormal(), 0.3 * rng.nextNormal()]    // class 0 on the right
            l0.append(c)
            let cb = Int32((i / 2 + i) % 2)                                          // shuffled class order
            let sideB: Float = cb == 0 ? -1 : 1                                      // class 0 targets on the left
            b += [sideB * 3 + 0.3 * rng.nextNormal(), 0.3 * rng.nextNormal()]
            l1.append(cb)
        }
        let x0 = Tensor(shape: [n, 2], scalars: a), x1 = Tensor(shape: [n, 2], scalars: b)
        XCTAssertEqual(l0.filter { $0 == 0 }.count, l1.filter { $0 == 0 }.count)
        let free = exactOTPermutation(x0, x1)
        XCTAssertGreaterThan((0..<n).filter { l0[free[$0]] != l1[$0] }.count, n / 2, "plain OT should cross classes here")
        guard let perm = classAwareOTPermutation(x0, labels0: l0, x1, labels1: l1) else { return XCTFail("counts match") }
        XCTAssertEqual(Set(perm).count, n)
        for j in 0..<n { XCTAssertEqual(l0[perm[j]], l1[j], "pair \(j) crosses classes") }
        // Optimal within each class: compare with the Hungarian solver on each class's cost.
        for c: Int32 in [0, 1] {
            let r0 = (0..<n).filter { l0[$0] == c }, r1 = (0..<n).filter { l1[$0] == c }
            let cost = squaredDistances(selectRows(x1, r1), selectRows(x0, r0))
            let ref = cost.withUnsafeBufferPointer { hungarianAssignment(cost: $0.baseAddress!, rows: r1.count, columns: r0.count) }
            let best = (0..<r1.count).reduce(0.0) { $0 + cost[$1 * r0.count + ref[$1]] }
            var got = 0.0
            for (k, j) in r1.enumerated() {
                let i = perm[j]
                got += cost[k * r0.count + r0.firstIndex(of: i)!]
            }
            XCTAssertEqual(got, best, accuracy: 1e-9 * max(1, best))
        }
        // Unequal class counts are refused.
        var bad = l1; bad[0] = 1 - bad[0]
        XCTAssertNil(classAwareOTPermutation(x0, labels0: l0, x1, labels1: bad))
    }

    private func twoClassData(_ n: Int, rng: inout RandomGenerator) -> (Tensor, [Int32]) {
        var pts = [Float](), labels = [Int32]()
        for i in 0..<n {
            let c = Int32(i % 2)
            pts += [(c == 0 ? -3 : 3) + 0.5 * rng.nextNormal(), 0.5 * rng.nextNormal()]
            labels.append(c)
        }
        return (Tensor(shape: [n, 2], scalars: pts), labels)
    }

    /// A conditional OT-CFM model on two blobs (class 0 at x = −3, class 1 at x = +3): labelled samples
    /// land on their class's side, more so with guidance; unlabelled samples cover both sides.
    func testGuidedSamplingMovesSamplesToTheirClass() throws {
        var rng = RandomGenerator(seed: 21)
        let (data, labels) = twoClassData(2000, rng: &rng)
        var c = FlowMatcher.Configuration(dim: 2)
        c.method = .otcfm; c.numClasses = 2; c.labelDropout = 0.2; c.hiddenWidth = 32; c.hiddenLayers = 2
        c.batchSize = 128; c.seed = 5
        let fm = FlowMatcher(c)
        try fm.fit(target: data, labels: labels, steps: 700)
        var o = ODEOptions(); o.steps = 20
        let n = 400
        func fractionRight(_ label: Int32, _ guidance: (weight: Float, convention: GuidanceConvention)?) throws -> Double {
            let s = try fm.sample(n, seed: 9, labels: [Int32](repeating: label, count: n), guidance: guidance, method: .euler, options: o).state
            return Double((0..<n).filter { s[flat: 2 * $0] > 0 }.count) / Double(n)
        }
        let plain0 = try fractionRight(0, nil), plain1 = try fractionRight(1, nil)
        let guided0 = try fractionRight(0, (3, .interpolate)), guided1 = try fractionRight(1, (2, .scaled))
        let unlabelled = try fractionRight(-1, nil)
        XCTAssertLessThan(plain0, 0.1); XCTAssertGreaterThan(plain1, 0.9)
        XCTAssertLessThan(guided0, 0.02); XCTAssertGreaterThan(guided1, 0.98)
        XCTAssertLessThanOrEqual(guided0, plain0); XCTAssertGreaterThanOrEqual(guided1, plain1)
        XCTAssertGreaterThan(unlabelled, 0.3); XCTAssertLessThan(unlabelled, 0.7)
        // The two conventions are one family: scaled w = interpolate 1 + w; interpolate 1 = conditional.
        let x = rng.normal([6, 2])
        let l: [Int32] = [0, 1, 0, 1, -1, 1]
        let a = fm.model.guidedVelocity(x, t: 0.4, labels: l, weight: 2.5, convention: .interpolate)
        let b = fm.model.guidedVelocity(x, t: 0.4, labels: l, weight: 1.5, convention: .scaled)
        let cond = fm.model.guidedVelocity(x, t: 0.4, labels: l, weight: 1, convention: .interpolate)
        let direct = fm.model.velocity(x, t: 0.4, labels: l)
        for k in 0..<12 {
            XCTAssertEqual(a[flat: k], b[flat: k], accuracy: 1e-4)
            XCTAssertEqual(cond[flat: k], direct[flat: k], accuracy: 1e-5)
        }
        // The checkpoint keeps the classes: guided samples after save/restore are identical.
        let back = try FlowMatcher.restore(from: fm.checkpoint())
        XCTAssertEqual(back.configuration, fm.configuration)
        let s1 = try fm.sample(50, seed: 2, labels: [Int32](repeating: 1, count: 50), guidance: (2, .interpolate), method: .euler, options: o).state
        let s2 = try back.sample(50, seed: 2, labels: [Int32](repeating: 1, count: 50), guidance: (2, .interpolate), method: .euler, options: o).state
        XCTAssertEqual(s1.scalars, s2.scalars)
    }

    func testSpiralsAndLabelledToyData() {
        var rng = RandomGenerator(seed: 4)
        let (pts, labels) = ToyDistribution.spirals.sampleWithLabels(2000, rng: &rng)
        XCTAssertEqual(ToyDistribution.spirals.classCount, 2)
        XCTAssertEqual(labels.filter { $0 == 0 }.count, 1000)
        // The arms are point reflections of each other: class means are opposite and away from 0.
        var mean: [[Double]] = [[0, 0], [0, 0]]
        for i in 0..<2000 { for j in 0..<2 { mean[Int(labels[i])][j] += Double(pts[flat: 2 * i + j]) / 1000 } }
        XCTAssertEqual(mean[0][0], -mean[1][0], accuracy: 0.15)
        XCTAssertEqual(mean[0][1], -mean[1][1], accuracy: 0.15)
        // Radii up to 3π/3 ≈ 3.1 (+ noise).
        let r = (0..<2000).map { (Double(pts[flat: 2 * $0]) * Double(pts[flat: 2 * $0]) + Double(pts[flat: 2 * $0 + 1]) * Double(pts[flat: 2 * $0 + 1])).squareRoot() }
        XCTAssertLessThan(r.max()!, 3.8)
        XCTAssertGreaterThan(r.max()!, 2.6)
        // Labels do not change the random stream: sample() gives the same points.
        var g1 = RandomGenerator(seed: 7), g2 = RandomGenerator(seed: 7)
        XCTAssertEqual(ToyDistribution.moons.sample(100, rng: &g1).scalars,
                       ToyDistribution.moons.sampleWithLabels(100, rng: &g2).points.scalars)
        // Moons: the outer arc (class 0) lies above the inner one on average.
        var g3 = RandomGenerator(seed: 8)
        let (m, ml) = ToyDistribution.moons.sampleWithLabels(1000, rng: &g3)
        let yOuter = (0..<1000).filter { ml[$0] == 0 }.map { Double(m[flat: 2 * $0 + 1]) }.reduce(0, +) / 500
        let yInner = (0..<1000).filter { ml[$0] == 1 }.map { Double(m[flat: 2 * $0 + 1]) }.reduce(0, +) / 500
        XCTAssertGreaterThan(yOuter, yInner + 0.5)
    }

    /// A sampler-fed fit trains; a sampler that fails mid-way leaves the matcher exactly as before.
    func testSamplerFitAndFailureLeavesNothingHalfDone() throws {
        var c = FlowMatcher.Configuration(dim: 2)
        c.method = .icfm; c.hiddenWidth = 16; c.hiddenLayers = 2; c.batchSize = 32; c.seed = 1
        let fm = FlowMatcher(c)
        var g = RandomGenerator(seed: 2)
        try fm.fit(steps: 5, sampler: { rows in ToyDistribution.moons.sample(rows, rng: &g) })
        XCTAssertEqual(fm.step, 5)
        let before = fm.checkpoint()
        var calls = 0
        XCTAssertThrowsError(try fm.fit(steps: 10, sampler: { rows in
            calls += 1
            if calls == 4 { throw FlowMatcher.SamplerError("disk gone") }
            return ToyDistribution.moons.sample(rows, rng: &g)
        })) { XCTAssertEqual(($0 as? FlowMatcher.SamplerError)?.message, "disk gone") }
        XCTAssertThrowsError(try fm.fit(steps: 3, sampler: { rows in Tensor(shape: [rows, 2], repeating: .nan) }))
        XCTAssertThrowsError(try fm.fit(steps: 3, sampler: { _ in Tensor(zeros: [3, 2]) }))
        let after = fm.checkpoint()
        XCTAssertEqual(fm.step, 5)
        XCTAssertEqual(before.metadata, after.metadata)
        for (x, y) in zip(before.tensors, after.tensors) { XCTAssertEqual(x.tensor.scalars, y.tensor.scalars, x.name) }
    }

    /// The β-VP method trains and samples: N(0, I) → moons improves over the untrained model and lands near
    /// I-CFM with the same budget.
    func testBetaVPMethodTrains() throws {
        var rng = RandomGenerator(seed: 30)
        let data = ToyDistribution.moons.sample(1000, rng: &rng)
        var c = FlowMatcher.Configuration(dim: 2)
        c.method = .vpBeta; c.sigma = 0; c.hiddenWidth = 32; c.hiddenLayers = 2; c.batchSize = 128; c.seed = 3
        let fm = FlowMatcher(c)
        var o = ODEOptions(); o.steps = 50
        let test = ToyDistribution.moons.sample(300, rng: &rng)
        let w0 = wasserstein2(try fm.sample(300, seed: 1, method: .euler, options: o).state, test)
        try fm.fit(target: data, steps: 2000)
        let w1 = wasserstein2(try fm.sample(300, seed: 1, method: .euler, options: o).state, test)
        // The same budget with the straight I-CFM path, as the yardstick (β-VP paths are curved).
        c.method = .icfm
        let ref = FlowMatcher(c)
        try ref.fit(target: data, steps: 2000)
        let wRef = wasserstein2(try ref.sample(300, seed: 1, method: .euler, options: o).state, test)
        XCTAssertLessThan(w1, 0.5 * w0)
        XCTAssertLessThan(w1, 1.5 * wRef)
    }
}
