import FlowTensor
import FlowAutodiff
#if canImport(Glibc)
import Glibc
#endif

/// How ∇·v is computed inside the change of variables.
public enum DivergenceEstimator: Equatable, Sendable {
    /// Exact trace of the Jacobian: one forward pass and D reverse passes per evaluation, the i-th
    /// seeded with e_i on every row, reading ∂v_i/∂x_i (rows are independent, so one batched pass gives
    /// column i of every row's Jacobian). Exact up to Float32 rounding — no finite-difference step to
    /// tune. Cost ∝ D; meant for D ≤ 64.
    case exact
    /// Hutchinson's estimator E_z[zᵀ J z] with Rademacher z (Hutchinson 1989; FFJORD): `probes` probe
    /// vectors per row, drawn once per solve (fixed across all evaluations so the adaptive solver sees
    /// a smooth field), averaged; one reverse pass per probe.
    case hutchinson(probes: Int)
}

/// v(x, t) and ∇_x·v(x, t) for a batch x [n, d] at one time.
public func velocityAndDivergence(_ model: TimeConditionedMLP, _ x: Tensor, t: Double,
                                  estimator: DivergenceEstimator, probes: [Tensor] = [],
                                  labels: [Int32]? = nil) -> (v: Tensor, div: [Float]) {
    let n = x.shape[0], d = model.dim, w = model.inputWidth
    let leaf = Variable(model.input(x, times: [Float](repeating: Float(t), count: n), labels: labels), requiresGrad: true)
    let out = model.network(leaf)
    var div = [Float](repeating: 0, count: n)
    switch estimator {
    case .exact:
        for i in 0..<d {
            var seed = Tensor(zeros: [n, d])
            seed.withUnsafeMutableBufferPointer { p in for r in 0..<n { p[r &* d &+ i] = 1 } }
            leaf.zeroGrad()
            out.backward(seed: seed)
            if let g = leaf.grad {
                g.withUnsafeBufferPointer { p in for r in 0..<n { div[r] += p[r &* w &+ i] } }
            }
        }
    case .hutchinson:
        let scale = 1 / Float(Swift.max(probes.count, 1))
        for z in probes {
            leaf.zeroGrad()
            out.backward(seed: z)
            guard let g = leaf.grad else { continue }
            g.withUnsafeBufferPointer { p in z.withUnsafeBufferPointer { zp in
                for r in 0..<n {
                    var s: Float = 0
                    for j in 0..<d { s += zp[r &* d &+ j] * p[r &* w &+ j] }
                    div[r] += scale * s
                }
            } }
        }
    }
    // Reverse passes also reached the weights: leave no gradient behind.
    model.zeroGrad()
    return (out.value, div)
}

/// Log-likelihood under a trained flow with a N(0, I) source, by the instantaneous change of variables
/// (Chen et al. 2018, thm. 1): integrate (x, L) from t = 1 (data) to t = 0 with dx/dt = v, dL/dt = ∇·v,
/// L(1) = 0; then log p₁(x) = log N(x(0); 0, I) + L(0). The dopri5 error norm covers x and L together.
/// Returns one value per row and the number of field evaluations. With `labels` (class-conditional
/// model) the result is log p(x | c) of the conditional field.
public func logLikelihood(model: TimeConditionedMLP, x: Tensor, estimator: DivergenceEstimator,
                          method: ODEMethod, options: ODEOptions, seed: UInt64,
                          labels: [Int32]? = nil) throws -> (logp: [Float], nfe: Int) {
    precondition(x.rank == 2 && x.shape[1] == model.dim, "x must be [n, \(model.dim)]")
    let n = x.shape[0], d = model.dim
    var probes: [Tensor] = []
    if case .hutchinson(let k) = estimator {
        guard k >= 1 else { throw ODEError.invalidArgument("Hutchinson needs at least one probe") }
        var rng = RandomGenerator(seed: seed)
        for _ in 0..<k {
            var z = Tensor(uninitialized: [n, d])
            z.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = (rng.next() >> 63) == 0 ? -1 : 1 } }
            probes.append(z)
        }
    }
    // Augmented state [n, d + 1]: x then L.
    var state = Tensor(zeros: [n, d + 1])
    state.withUnsafeMutableBufferPointer { s in x.withUnsafeBufferPointer { p in
        for r in 0..<n { for j in 0..<d { s[r &* (d + 1) &+ j] = p[r &* d &+ j] } }
    } }
    let field: (Tensor, Double) throws -> Tensor = { aug, t in
        let xs = Tensor(uninitialized: [n, d])
        let pa = aug.storage.pointer, px = xs.storage.pointer
        for r in 0..<n { (px + r &* d).update(from: pa + r &* (d + 1), count: d) }
        let (v, div) = velocityAndDivergence(model, xs, t: t, estimator: estimator, probes: probes, labels: labels)
        let out = Tensor(uninitialized: [n, d + 1])
        let po = out.storage.pointer, pv = v.storage.pointer
        for r in 0..<n {
            (po + r &* (d + 1)).update(from: pv + r &* d, count: d)
            po[r &* (d + 1) &+ d] = div[r]
        }
        return withExtendedLifetime((aug, v)) { out }
    }
    let sol = try odeSolve(field, x0: state, from: 1, to: 0, method: method, options: options)
    let logNorm = -0.5 * Double(d) * log(2 * Double.pi)
    var logp = [Float](repeating: 0, count: n)
    sol.state.withUnsafeBufferPointer { s in
        for r in 0..<n {
            var sq = 0.0
            for j in 0..<d { let v = Double(s[r &* (d + 1) &+ j]); sq += v * v }
            logp[r] = Float(logNorm - 0.5 * sq + Double(s[r &* (d + 1) &+ d]))
        }
    }
    return (logp, sol.nfe)
}
