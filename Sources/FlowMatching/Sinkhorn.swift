import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

/// Result of entropic OT.
public struct SinkhornResult {
    /// Transport plan π [n, m] (row-major), marginals ≈ (1/n, 1/m).
    public var plan: [Double]
    /// Iterations run.
    public var iterations: Int
    /// Largest absolute deviation of a row or column sum from its target when stopping.
    public var marginalError: Double
}

/// Log-domain Sinkhorn (Cuturi 2013; stabilised as Schmitzer 2019 / Peyré & Cuturi 2019 §4.4) for
/// uniform marginals a = 1/n, b = 1/m and cost C [n, m]:
/// f_i = ε log a_i − ε LSE_j((g_j − C_ij)/ε), g_j = ε log b_j − ε LSE_i((f_i − C_ij)/ε),
/// π_ij = exp((f_i + g_j − C_ij)/ε). Stops when the row-marginal error is below `tolerance`.
/// Stable for any ε > 0 (no exp of large arguments).
public func logSinkhorn(cost: [Double], rows n: Int, columns m: Int, epsilon: Double,
                        maxIterations: Int = 1000, tolerance: Double = 1e-9) -> SinkhornResult {
    precondition(n > 0 && m > 0 && cost.count == n * m, "cost must be n × m")
    precondition(epsilon > 0 && epsilon.isFinite, "epsilon must be positive")
    let logA = -log(Double(n)), logB = -log(Double(m))
    var f = [Double](repeating: 0, count: n), g = [Double](repeating: 0, count: m)
    var iterations = 0
    var error = Double.infinity
    var work = [Double](repeating: 0, count: Swift.max(n, m))
    func rowUpdate() {
        for i in 0..<n {
            var mx = -Double.infinity
            for j in 0..<m { let z = (g[j] - cost[i * m + j]) / epsilon; work[j] = z; if z > mx { mx = z } }
            var s = 0.0
            for j in 0..<m { s += exp(work[j] - mx) }
            f[i] = epsilon * logA - epsilon * (mx + log(s))
        }
    }
    func columnUpdate() {
        for j in 0..<m {
            var mx = -Double.infinity
            for i in 0..<n { let z = (f[i] - cost[i * m + j]) / epsilon; work[i] = z; if z > mx { mx = z } }
            var s = 0.0
            for i in 0..<n { s += exp(work[i] - mx) }
            g[j] = epsilon * logB - epsilon * (mx + log(s))
        }
    }
    while iterations < maxIterations {
        rowUpdate()
        columnUpdate()
        iterations += 1
        // After the column update columns are exact; measure rows.
        if iterations % 5 == 0 || iterations == maxIterations {
            error = 0
            let target = 1 / Double(n)
            for i in 0..<n {
                var s = 0.0
                for j in 0..<m { s += exp((f[i] + g[j] - cost[i * m + j]) / epsilon) }
                error = Swift.max(error, abs(s - target))
            }
            if error < tolerance { break }
        }
    }
    var plan = [Double](repeating: 0, count: n * m)
    for i in 0..<n { for j in 0..<m { plan[i * m + j] = exp((f[i] + g[j] - cost[i * m + j]) / epsilon) } }
    return SinkhornResult(plan: plan, iterations: iterations, marginalError: error)
}
