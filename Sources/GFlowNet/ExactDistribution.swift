#if canImport(Glibc)
import Glibc
#endif

/// The DAG of an enumerable environment: `children[i·(A−1) + a]` = index of the state reached from state
/// i by forward action a, or −1 when a is not valid there.
public struct EnumeratedDAG {
    public let stateCount: Int
    public let actionCount: Int
    public let states: [Int32]
    public let children: [Int]
    public let forwardMask: [Bool]
    public let initialIndex: Int

    /// Enumerates `env` (throws `.notEnumerable` when it has no finite enumeration).
    public init(_ env: DiscreteEnvironment) throws {
        guard let n = env.enumeratedStateCount else {
            throw GFlowNetError.notEnumerable("the environment's states cannot be enumerated (too many or not finite)")
        }
        let a = env.actionCount, dim = env.stateDimension
        let all = env.allStates()
        let mask = env.forwardMask(all, count: n)
        var children = [Int](repeating: -1, count: n * (a - 1))
        for action in 0..<(a - 1) {
            let valid = (0..<n).filter { mask[$0 * a + action] }
            guard !valid.isEmpty else { continue }
            let src = valid.flatMap { all[($0 * dim)..<(($0 + 1) * dim)] }
            let next = env.step(src, actions: [Int](repeating: action, count: valid.count), count: valid.count)
            let idx = env.stateIndex(next, count: valid.count)
            for (k, i) in valid.enumerated() { children[i * (a - 1) + action] = idx[k] }
        }
        stateCount = n; actionCount = a; states = all; self.children = children; forwardMask = mask
        initialIndex = env.stateIndex(env.initialState, count: 1)[0]
        try env.throwIfFailed()
    }
}

/// Exact terminating distribution of a forward policy by dynamic programming over the DAG
/// (torchgfn `exact_terminating_distribution`): u(s₀) = 1, u(s′) = Σ_{s ∈ Par(s′)} u(s)·P_F(s′|s) in
/// topological order, P_T(x) = u(x)·P_F(s_f|x).
/// - Parameter forwardProbabilities: P_F(a|s) `[stateCount, A]` in `dag.states` order (exit last).
/// - Returns: P_T `[stateCount]`.
public func exactTerminatingDistribution(dag: EnumeratedDAG, forwardProbabilities p: [Double]) -> [Double] {
    let n = dag.stateCount, a = dag.actionCount
    precondition(p.count == n * a, "forwardProbabilities must be [stateCount, actionCount]")
    var u = [Double](repeating: 0, count: n)
    var pt = [Double](repeating: 0, count: n)
    u[dag.initialIndex] = 1
    for i in 0..<n {
        let ui = u[i]
        if ui == 0 { continue }
        pt[i] = ui * p[i * a + a - 1]
        for action in 0..<(a - 1) {
            let c = dag.children[i * (a - 1) + action]
            if c >= 0 { u[c] += ui * p[i * a + action] }
        }
    }
    return pt
}

/// The target distribution R(x)/Z over all states and log Z = log Σ_x R(x) (computed in log space).
/// Only terminating states (exit valid) are objects x: the others get probability 0 and their reward
/// is not evaluated.
public func targetDistribution(_ env: DiscreteEnvironment, dag: EnumeratedDAG) throws -> (probabilities: [Double], logZ: Double) {
    let a = dag.actionCount, dim = env.stateDimension
    let terminal = (0..<dag.stateCount).filter { dag.forwardMask[$0 * a + a - 1] }
    let states = terminal.count == dag.stateCount ? dag.states : terminal.flatMap { dag.states[($0 * dim)..<(($0 + 1) * dim)] }
    let logR = try env.logReward(states, count: terminal.count)
    for r in logR where !r.isFinite { throw GFlowNetError.invalidReward("a log reward is \(r) (rewards must be finite and positive)") }
    let m = logR.max() ?? 0
    var total = 0.0
    for r in logR { total += exp(r - m) }
    let logZ = m + log(total)
    var p = [Double](repeating: 0, count: dag.stateCount)
    for (k, i) in terminal.enumerated() { p[i] = exp(logR[k] - logZ) }
    return (p, logZ)
}

/// Distances between a learned distribution P and a target p over the same states.
public struct DistributionDistances: Equatable {
    /// Σ_x |P(x) − p(x)| (torchgfn's `l1_dist`).
    public var l1: Double
    /// Total variation ½ Σ |P − p|.
    public var tv: Double
    /// Jensen–Shannon divergence (natural log): ½ KL(P‖M) + ½ KL(p‖M), M = (P + p)/2.
    public var jsd: Double

    public init(learned: [Double], target: [Double]) {
        precondition(learned.count == target.count, "distributions of different sizes")
        var l1 = 0.0, jsd = 0.0
        for i in learned.indices {
            let p = learned[i], q = target[i], m = 0.5 * (p + q)
            l1 += Swift.abs(p - q)
            if p > 0 { jsd += 0.5 * p * log(p / m) }
            if q > 0 { jsd += 0.5 * q * log(q / m) }
        }
        self.l1 = l1; tv = 0.5 * l1; self.jsd = Swift.max(jsd, 0)
    }
}
