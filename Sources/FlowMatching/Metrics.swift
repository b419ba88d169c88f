import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

/// 2-Wasserstein distance between two equal-size empirical measures (uniform weights):
/// W2 = (min_σ (1/n) Σ_i ‖a_i − b_σ(i)‖²)^{1/2}, solved exactly by `linearSumAssignment`
/// (for uniform equal-size measures an optimal plan is a permutation — Birkhoff–von Neumann).
/// O(n³): a few seconds at n = 2000.
public func wasserstein2(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.rank == 2 && a.shape == b.shape, "wasserstein2 needs equal [n, d] point sets, got \(a.shape) and \(b.shape)")
    let n = a.shape[0]
    if n == 0 { return 0 }
    let cost = squaredDistances(a, b)
    let assignment = cost.withUnsafeBufferPointer { linearSumAssignment(cost: $0.baseAddress!, rows: n, columns: n) }
    var total = 0.0
    for i in 0..<n { total += cost[i * n + assignment[i]] }
    return (total / Double(n)).squareRoot()
}

/// Path energy E_{x0} ∫₀¹ ‖v(t, x_t)‖² dt along Euler trajectories with `steps` steps (the NPE
/// numerator of Tong et al. 2024, App. F.3 eq. 22). Class-conditional models: `labels` (one per row,
/// −1 = no label) select the conditional field, as in `FlowMatcher.transport`.
public func pathEnergy(model: TimeConditionedMLP, x0: Tensor, steps: Int, labels: [Int32]? = nil) -> Double {
    precondition(steps >= 1)
    if let labels { precondition(labels.count == x0.shape[0], "one label per row") }
    let h = 1.0 / Double(steps)
    var x = x0
    var energy = 0.0
    let n = x0.shape[0]
    for s in 0..<steps {
        let v = model.velocity(x, t: Double(s) * h, labels: labels)
        v.withUnsafeBufferPointer { p in for e in p { energy += Double(e) * Double(e) * h } }
        x = combine(x, h, [(1, v)])
    }
    return energy / Double(Swift.max(n, 1))
}

/// Normalised path energy |E ∫‖v‖² dt − W2²(q0, q1)| / W2²(q0, q1) (Tong et al. 2024, eq. 21–22).
public func normalizedPathEnergy(energy: Double, w2: Double) -> Double {
    let w2sq = w2 * w2
    return abs(energy - w2sq) / Swift.max(w2sq, 1e-12)
}

/// Squared maximum mean discrepancy with a Gaussian kernel exp(−‖x − y‖²/(2 bandwidth²)) (biased
/// V-statistic).
public func mmdSquared(_ a: Tensor, _ b: Tensor, bandwidth: Double) -> Double {
    func meanKernel(_ x: Tensor, _ y: Tensor) -> Double {
        let c = squaredDistances(x, y)
        var s = 0.0
        for v in c { s += (-v / (2 * bandwidth * bandwidth)).exp() }
        return s / Double(Swift.max(c.count, 1))
    }
    return meanKernel(a, a) + meanKernel(b, b) - 2 * meanKernel(a, b)
}

private extension Double { func exp() -> Double { Glibc.exp(self) } }
