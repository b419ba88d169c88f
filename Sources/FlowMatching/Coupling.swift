import FlowTensor

/// How source and target minibatches are paired before the path is sampled (Tong et al. 2024 §3.2).
/// A coupling is one `pair(x0, x1, rng)`.
public enum Coupling: Equatable, Sendable {
    /// Keep the rows as drawn (independent coupling, I-CFM / FM).
    case independent
    /// Exact minibatch OT under squared Euclidean cost: x0 is permuted by the optimal assignment
    /// (`linearSumAssignment`), x1 keeps its order (a permutation, like torchcfm's scipy path).
    case exactOT
    /// Entropic OT (log-domain Sinkhorn with regularisation `epsilon` on the raw squared cost); n
    /// pairs (i, j) are drawn with replacement from the plan π, as torchcfm's `OTPlanSampler`.
    case sinkhorn(epsilon: Double)

    /// The paired batches (same shapes as the inputs). `workspace` (optional) lends the exact OT's
    /// matrices across calls; the result does not depend on it.
    public func pair(_ x0: Tensor, _ x1: Tensor, rng: inout RandomGenerator,
                     workspace: ExactOTWorkspace? = nil) -> (x0: Tensor, x1: Tensor) {
        switch self {
        case .independent:
            return (x0, x1)
        case .exactOT:
            let perm = exactOTPermutation(x0, x1, workspace: workspace)
            return (selectRows(x0, perm), x1)
        case .sinkhorn(let epsilon):
            let n = x0.shape[0], m = x1.shape[0]
            let cost = squaredDistances(x0, x1)
            let result = logSinkhorn(cost: cost, rows: n, columns: m, epsilon: epsilon, maxIterations: 200, tolerance: 1e-6)
            var total = 0.0
            for v in result.plan { total += v }
            // Degenerate plan (underflow): fall back to the independent coupling (torchcfm does the same).
            guard total.isFinite, total > 1e-8 else { return (x0, x1) }
            var cdf = [Double](repeating: 0, count: result.plan.count)
            var acc = 0.0
            for k in result.plan.indices { acc += result.plan[k] / total; cdf[k] = acc }
            let count = Swift.min(n, m)
            var rows = [Int](repeating: 0, count: count), cols = [Int](repeating: 0, count: count)
            for s in 0..<count {
                let u = rng.nextUniformDouble() * acc
                var lo = 0, hi = cdf.count - 1
                while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] > u { hi = mid } else { lo = mid + 1 } }
                rows[s] = lo / m; cols[s] = lo % m
            }
            return (selectRows(x0, rows), selectRows(x1, cols))
        }
    }
}

/// Rows `indices` of a [n, d] tensor.
public func selectRows(_ t: Tensor, _ indices: [Int]) -> Tensor {
    let d = t.count / Swift.max(t.shape[0], 1)
    let out = Tensor(uninitialized: [indices.count, d])
    let src = t.storage.pointer, dst = out.storage.pointer
    for (i, r) in indices.enumerated() {
        precondition(r >= 0 && r < t.shape[0], "row \(r) out of range")
        (dst + i &* d).update(from: src + r &* d, count: d)
    }
    return withExtendedLifetime(t) { out }
}

/// Exact minibatch OT that never pairs across classes (torchcfm `sample_plan_with_labels` with an
/// exact plan, as a permutation): for every class c, the rows of x0 labelled c are matched to the rows
/// of x1 labelled c by exact OT under squared Euclidean cost. `permutation[j]` is the row of x0 paired
/// with row j of x1 (x1 keeps its order), and `labels0[permutation[j]] == labels1[j]` for every j.
/// Needs the same number of rows of every class on both sides (for a N(0, I) source, give the noise
/// rows the labels of x1). Returns nil when the class counts differ.
public func classAwareOTPermutation(_ x0: Tensor, labels0: [Int32], _ x1: Tensor, labels1: [Int32],
                                    workspace: ExactOTWorkspace? = nil) -> [Int]? {
    precondition(x0.shape == x1.shape && x0.rank == 2, "class-aware OT needs equal [n, d] shapes, got \(x0.shape) and \(x1.shape)")
    let n = x0.shape[0]
    precondition(labels0.count == n && labels1.count == n, "one label per row")
    var rows0: [Int32: [Int]] = [:], rows1: [Int32: [Int]] = [:]
    for i in 0..<n { rows0[labels0[i], default: []].append(i); rows1[labels1[i], default: []].append(i) }
    guard rows0.count == rows1.count, rows0.allSatisfy({ rows1[$0.key]?.count == $0.value.count }) else { return nil }
    var permutation = [Int](repeating: 0, count: n)
    for (label, r1) in rows1 {
        let r0 = rows0[label]!
        if r1.count == 1 { permutation[r1[0]] = r0[0]; continue }
        let local = exactOTPermutation(selectRows(x0, r0), selectRows(x1, r1), workspace: workspace)
        for (k, j) in r1.enumerated() { permutation[j] = r0[local[k]] }
    }
    return permutation
}
