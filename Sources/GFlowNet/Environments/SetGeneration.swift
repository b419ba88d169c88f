import FlowTensor

/// Set generation with per-item energies (the forward-looking GFlowNet paper's set task, Pan et al.
/// 2023, ling-pan/FL-GFN `set/`): build a set of exactly k of N items one item at a time.
///
/// States are N flags x_i ∈ {0, 1} (1 = item i chosen); s₀ = ∅. Action i < N adds item i (valid when
/// absent and |x| < k); exit (N) is valid only when |x| = k. Backward action i removes item i (valid
/// when present). Encoding: the N flags as floats. Energy is additive over items, E(x) = Σ_{i∈x} e_i,
/// so log R(x) = −E(x) is defined for every state (the edge reward of adding i is e^{−e_i}), which is
/// what forward-looking objectives use. States are indexed by the bitmask Σ_i x_i·2^i (topological;
/// enumerable for N ≤ 20; the sets larger than k are listed but unreachable). Modes are the k-sets
/// of maximum reward; each is its own region.
public final class SetGeneration: DiscreteEnvironment {
    public let itemCount: Int, setSize: Int
    /// Per-item energies e_i.
    public let energies: [Double]
    /// Largest N for enumeration.
    public static let maxEnumeratedItems = 20

    /// A description of the first invalid argument, or nil (the C layer checks this first).
    public static func problem(itemCount: Int, setSize: Int, beta: Double) -> String? {
        if itemCount < 1 || itemCount > 4096 { return "the number of items N must be in 1…4096, got \(itemCount)" }
        if setSize < 1 || setSize > itemCount { return "the set size k must be in 1…N = \(itemCount), got \(setSize)" }
        if !(beta.isFinite && beta >= 0) { return "beta must be finite and ≥ 0, got \(beta)" }
        return nil
    }

    /// Seeded energies e_i = β·u_i with u_i drawn uniformly from {0, ¼, ½, ¾, 1} (ties make several
    /// optimal sets). Preconditions: `problem(...) == nil`.
    public convenience init(itemCount: Int, setSize: Int, beta: Double = 1, seed: UInt64 = 0) {
        precondition(Self.problem(itemCount: itemCount, setSize: setSize, beta: beta) == nil, "invalid set-generation arguments")
        self.init(energies: seededDraws(itemCount, below: 5, seed: seed).map { beta * Double($0) / 4 }, setSize: setSize)
    }

    /// Explicit finite energies. Preconditions: 1 ≤ setSize ≤ energies.count.
    public init(energies: [Double], setSize: Int) {
        precondition(!energies.isEmpty && setSize >= 1 && setSize <= energies.count, "invalid set size")
        precondition(energies.allSatisfy(\.isFinite), "energies must be finite")
        self.energies = energies; itemCount = energies.count; self.setSize = setSize
    }

    public var stateDimension: Int { itemCount }
    public var actionCount: Int { itemCount + 1 }
    public var encodingDimension: Int { itemCount }
    public var maxTrajectoryLength: Int { setSize + 1 }
    public var initialState: [Int32] { [Int32](repeating: 0, count: itemCount) }

    @inline(__always) func size(_ states: [Int32], _ i: Int) -> Int {
        var s = 0
        for j in 0..<itemCount where states[i * itemCount + j] != 0 { s += 1 }
        return s
    }

    public func forwardMask(_ states: [Int32], count: Int) -> [Bool] {
        let n = itemCount, a = actionCount
        var mask = [Bool](repeating: false, count: count * a)
        for i in 0..<count {
            let s = size(states, i)
            if s < setSize { for j in 0..<n { mask[i * a + j] = states[i * n + j] == 0 } }
            mask[i * a + n] = s == setSize
        }
        return mask
    }

    public func backwardMask(_ states: [Int32], count: Int) -> [Bool] { states.prefix(count * itemCount).map { $0 != 0 } }

    public func step(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        var next = states
        for i in 0..<count where actions[i] >= 0 && actions[i] < itemCount { next[i * itemCount + actions[i]] = 1 }
        return next
    }

    public func backwardStep(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        var prev = states
        for i in 0..<count where actions[i] >= 0 && actions[i] < itemCount { prev[i * itemCount + actions[i]] = 0 }
        return prev
    }

    public var providesIntermediateLogRewards: Bool { true }

    /// −Σ_{i∈x} e_i.
    public func intermediateLogReward(_ states: [Int32], count: Int) -> [Double] {
        (0..<count).map { i in
            var e = 0.0
            for j in 0..<itemCount where states[i * itemCount + j] != 0 { e += energies[j] }
            return -e
        }
    }

    public func logReward(_ states: [Int32], count: Int) throws -> [Double] { intermediateLogReward(states, count: count) }

    public func encode(_ states: [Int32], count: Int, into destination: UnsafeMutablePointer<Float>) {
        for k in 0..<(count * itemCount) { destination[k] = states[k] != 0 ? 1 : 0 }
    }

    public var enumeratedStateCount: Int? { itemCount <= Self.maxEnumeratedItems ? 1 << itemCount : nil }

    public func allStates() -> [Int32] {
        let total = enumeratedStateCount ?? 0, n = itemCount
        var out = [Int32](repeating: 0, count: total * n)
        for m in 0..<total { for j in 0..<n { out[m * n + j] = Int32((m >> j) & 1) } }
        return out
    }

    public func stateIndex(_ states: [Int32], count: Int) -> [Int] {
        (0..<count).map { i in
            var m = 0
            for j in 0..<Swift.min(itemCount, 62) where states[i * itemCount + j] != 0 { m |= 1 << j }
            return m
        }
    }

    /// log R of the best k-set: minus the sum of the k smallest energies.
    public var maximumLogReward: Double { -energies.sorted().prefix(setSize).reduce(0, +) }

    public func isMode(_ states: [Int32], count: Int) -> [Bool] {
        let best = maximumLogReward
        let values = intermediateLogReward(states, count: count)
        return (0..<count).map { size(states, $0) == setSize && values[$0] >= best - 1e-9 * Swift.max(1, Swift.abs(best)) }
    }
}
