import XCTest
import FlowGen

final class AutoregressiveFlowTests: XCTestCase {
    /// A flow with non-trivial weights: trained briefly on 8 Gaussians (2-D) or random data.
    private func flow(dim: Int, blocks: Int = 3, steps: Int, seed: UInt64 = 0) throws -> MaskedAutoregressiveFlow {
        var c = MaskedAutoregressiveFlow.Configuration(dim: dim)
        c.blocks = blocks; c.hiddenWidth = 32; c.seed = seed
        let f = MaskedAutoregressiveFlow(c)
        var rng = RandomGenerator(seed: seed + 1)
        let data = dim == 2 ? ToyDistribution.eightGaussians.sample(2000, rng: &rng) : rng.normal([2000, dim]) * 2
        if steps > 0 { try f.fit(data: data, steps: steps) }
        return f
    }

    func testDensityIntegratesToOneIn2D() throws {
        let f = try flow(dim: 2, blocks: 4, steps: 300)
        // Riemann sum of p over [-12, 12]² on a 481 × 481 grid (spacing 0.05).
        let side = 481, h = 24.0 / Double(side - 1)
        var grid = Tensor(zeros: [side * side, 2])
        grid.withUnsafeMutableBufferPointer { p in
            for i in 0..<side { for j in 0..<side {
                p[2 * (i * side + j)] = Float(-12 + Double(i) * h); p[2 * (i * side + j) + 1] = Float(-12 + Double(j) * h)
            } }
        }
        let mass = f.logProbability(grid).reduce(0.0) { $0 + exp(Double($1)) } * h * h
        XCTAssertEqual(mass, 1, accuracy: 0.01, "∫ p = \(mass)")
    }

    func testInverseUndoesTheForwardMap() throws {
        let f = try flow(dim: 3, blocks: 3, steps: 50)
        var rng = RandomGenerator(seed: 8)
        let z = rng.normal([64, 3])
        let x = f.inverse(z)
        // The change of variables: log p(x) must equal log N(z) − log|det ∂x/∂z| with the Jacobian of the
        // inverse taken by central differences (3 × 3), which checks the inverse and the log-determinant at once.
        let eps: Float = 1e-2
        let logp = f.logProbability(x)
        for r in 0..<4 {
            // |det ∂x/∂z| by central differences of the inverse (3 × 3).
            var jac = [[Double]](repeating: [Double](repeating: 0, count: 3), count: 3)
            for j in 0..<3 {
                var plus = Tensor(zeros: [1, 3]), minus = Tensor(zeros: [1, 3])
                plus.withUnsafeMutableBufferPointer { p in minus.withUnsafeMutableBufferPointer { m in
                    for k in 0..<3 { p[k] = z.scalars[r * 3 + k]; m[k] = z.scalars[r * 3 + k] }
                    p[j] += eps; m[j] -= eps
                } }
                let a = f.inverse(plus).scalars, b = f.inverse(minus).scalars
                for i in 0..<3 { jac[i][j] = Double(a[i] - b[i]) / Double(2 * eps) }
            }
            let det = jac[0][0] * (jac[1][1] * jac[2][2] - jac[1][2] * jac[2][1])
                - jac[0][1] * (jac[1][0] * jac[2][2] - jac[1][2] * jac[2][0])
                + jac[0][2] * (jac[1][0] * jac[2][1] - jac[1][1] * jac[2][0])
            let zr = (0..<3).map { Double(z.scalars[r * 3 + $0]) }
            let logNormal = -0.5 * zr.map { $0 * $0 }.reduce(0, +) - 1.5 * log(2 * Double.pi)
            XCTAssertEqual(Double(logp[r]), logNormal - log(Swift.abs(det)), accuracy: 2e-2, "row \(r)")
        }
    }

    func testTrainingLowersTheNLLBelowAGaussianFitAndSamplesTheData() throws {
        var rng = RandomGenerator(seed: 11)
        let train = ToyDistribution.eightGaussians.sample(4000, rng: &rng), test = ToyDistribution.eightGaussians.sample(2000, rng: &rng)
        var c = MaskedAutoregressiveFlow.Configuration(dim: 2)
        c.blocks = 5; c.seed = 2
        let f = MaskedAutoregressiveFlow(c)
        try f.fit(data: train, steps: 1500)
        let nll = -f.logProbability(test).reduce(0.0) { $0 + Double($1) } / 2000
        // A Gaussian fitted to 8 Gaussians (radius 5, std 1): covariance ≈ (12.5 + 1) I → NLL ≈ log(2π·13.5) + 1
        // = 5.44. The true mixture's entropy is 4.772 nats (Monte Carlo, 400k points, ± 0.002; neighbouring
        // components overlap, so it is below log 8 + log 2π + 1 = 4.92).
        let gaussianNLL = log(2 * Double.pi * 13.5) + 1, trueNLL = 4.772
        XCTAssertLessThan(nll, trueNLL + 0.2, "MAF NLL \(nll) vs true \(trueNLL), Gaussian fit \(gaussianNLL)")
        XCTAssertGreaterThan(nll, trueNLL - 0.05, "held-out NLL cannot beat the true density")
        // The fused inference path and the training graph compute the same log-densities.
        let graph = withoutGradients { f.logProbability(Variable(test)).value.scalars }
        XCTAssertLessThan(zip(graph, f.logProbability(test)).map { Swift.abs($0 - $1) }.max() ?? 1, 1e-4)
        let samples = f.sample(1000, seed: 4)
        let w2 = wasserstein2(samples, selectRows(test, Array(0..<1000)))
        XCTAssertLessThan(w2, 1.5, "W2 of MAF samples \(w2)")
        // Same seed, same numbers; a checkpoint resumes training exactly.
        XCTAssertEqual(f.sample(10, seed: 4).scalars, f.sample(10, seed: 4).scalars)
        let restored = try MaskedAutoregressiveFlow.restore(from: f.checkpoint())
        XCTAssertEqual(restored.logProbability(test), f.logProbability(test))
        XCTAssertEqual(restored.step, 1500)
        try f.fit(data: train, steps: 5); try restored.fit(data: train, steps: 5)
        XCTAssertEqual(restored.logProbability(test), f.logProbability(test))
        var bad = f.checkpoint()
        bad.metadata["flowgen.blocks"] = "6"
        XCTAssertThrowsError(try MaskedAutoregressiveFlow.restore(from: bad))
    }
}
