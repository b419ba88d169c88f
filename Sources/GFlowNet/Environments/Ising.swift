/// DiscreteEBM over Ising spins, with torchgfn's `gym/discrete_ebm.py` conventions.
///
/// States x ∈ {−1, 0, 1}^D with −1 = not set yet; s₀ = (−1, …, −1). Action i < D sets x_i = 0,
/// D ≤ i < 2D sets x_{i−D} = 1 (both only when x_i is unset); exit (2D) is valid only when every spin
/// is set. Backward action a unsets the spin a mod D when it holds the value action a wrote. Spins are
/// σ = 2x − 1 ∈ {±1}. Energy E(σ) = −Σ_{i<j} J_ij σ_i σ_j (each coupling counted once; torchgfn's
/// −σᵀJσ counts every pair twice, i.e. uses 2J), log R(x) = −E(σ). Intermediate log reward of a
/// partial state: the same sum over the pairs whose two spins are set. Encoding: two floats per spin,
/// [x_i = 0, x_i = 1] (zeros when unset). Modes are the configurations of maximum reward (ground
/// states); each is its own region. States are indexed by Σ_i (x_i + 1)·3^i (topological: setting a
/// spin raises the index).
public final class IsingModel: DiscreteEnvironment {
    public let spinCount: Int
    /// Couplings J_ij ≠ 0 with i < j.
    public let couplings: [(i: Int, j: Int, strength: Double)]
    /// Largest number of states accepted for enumeration (3^15 ≈ 1.4e7).
    public static let maxEnumeratedStates = 1 << 24
    private var cachedBest: Double?

    /// A description of the first invalid lattice argument, or nil (the C layer checks this first).
    public static func latticeProblem(side: Int, dimensions: Int, coupling: Double) -> String? {
        if !(0...2).contains(dimensions) { return "the Ising lattice must have 0 (complete graph), 1 or 2 dimensions, got \(dimensions)" }
        let limit = [1024, 4096, 64][dimensions]
        if side < 2 || side > limit { return "the Ising lattice side must be in 2…\(limit), got \(side)" }
        if !coupling.isFinite { return "the Ising coupling J must be finite, got \(coupling)" }
        return nil
    }

    /// A periodic lattice: a ring of `side` spins (dimensions 1) or a `side`×`side` torus (dimensions 2,
    /// spin r·side + c), every nearest-neighbour pair coupled with strength J (pairs that wrap onto an
    /// existing pair, e.g. side 2, are counted once); dimensions 0 couples every pair of `side` spins
    /// (torchgfn's default all-ones J with α is this with J = 2α). J > 0 is ferromagnetic.
    public convenience init(latticeSide side: Int, dimensions: Int, coupling: Double) {
        precondition(Self.latticeProblem(side: side, dimensions: dimensions, coupling: coupling) == nil, "invalid Ising lattice")
        let n = dimensions == 2 ? side * side : side
        var edges = Set<Int>()   // i·n + j with i < j
        func link(_ a: Int, _ b: Int) { if a != b { edges.insert(Swift.min(a, b) * n + Swift.max(a, b)) } }
        if dimensions == 0 {
            for i in 0..<side { for j in (i + 1)..<Swift.max(i + 1, side) { link(i, j) } }
        } else if dimensions == 1 {
            for i in 0..<side { link(i, (i + 1) % side) }
        } else {
            for r in 0..<side {
                for c in 0..<side {
                    link(r * side + c, r * side + (c + 1) % side)
                    link(r * side + c, ((r + 1) % side) * side + c)
                }
            }
        }
        self.init(spinCount: n, couplings: edges.sorted().map { ($0 / n, $0 % n, coupling) })
    }

    /// Couplings from a symmetric D×D row-major matrix (the diagonal is ignored).
    /// Preconditions: D ≥ 1, finite symmetric entries.
    public convenience init(spinCount: Int, couplingMatrix j: [Double]) {
        precondition(spinCount >= 1 && j.count == spinCount * spinCount, "the coupling matrix must be D×D")
        var list: [(i: Int, j: Int, strength: Double)] = []
        for a in 0..<spinCount {
            for b in (a + 1)..<Swift.max(a + 1, spinCount) {
                precondition(j[a * spinCount + b] == j[b * spinCount + a], "the coupling matrix must be symmetric")
                if j[a * spinCount + b] != 0 { list.append((a, b, j[a * spinCount + b])) }
            }
        }
        self.init(spinCount: spinCount, couplings: list)
    }

    /// Couplings as a list of pairs i < j with finite strengths (each pair at most once).
    public init(spinCount: Int, couplings list: [(i: Int, j: Int, strength: Double)]) {
        precondition(spinCount >= 1, "the Ising model needs at least one spin")
        precondition(list.allSatisfy { $0.i >= 0 && $0.i < $0.j && $0.j < spinCount && $0.strength.isFinite },
                     "couplings need 0 ≤ i < j < D and finite strengths")
        self.spinCount = spinCount
        couplings = list
    }

    public var stateDimension: Int { spinCount }
    public var actionCount: Int { 2 * spinCount + 1 }
    public var encodingDimension: Int { 2 * spinCount }
    public var maxTrajectoryLength: Int { spinCount + 1 }
    public var initialState: [Int32] { [Int32](repeating: -1, count: spinCount) }

    public func forwardMask(_ states: [Int32], count: Int) -> [Bool] {
        let d = spinCount, a = actionCount
        var mask = [Bool](repeating: false, count: count * a)
        for i in 0..<count {
            var full = true
            for s in 0..<d where states[i * d + s] < 0 {
                full = false
                mask[i * a + s] = true; mask[i * a + d + s] = true
            }
            mask[i * a + a - 1] = full
        }
        return mask
    }

    public func backwardMask(_ states: [Int32], count: Int) -> [Bool] {
        let d = spinCount, w = 2 * spinCount
        var mask = [Bool](repeating: false, count: count * w)
        for i in 0..<count {
            for s in 0..<d {
                let v = states[i * d + s]
                if v == 0 { mask[i * w + s] = true } else if v == 1 { mask[i * w + d + s] = true }
            }
        }
        return mask
    }

    public func step(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        var next = states
        let d = spinCount
        for i in 0..<count where actions[i] >= 0 && actions[i] < 2 * d {
            next[i * d + actions[i] % d] = actions[i] < d ? 0 : 1
        }
        return next
    }

    public func backwardStep(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        var prev = states
        let d = spinCount
        for i in 0..<count where actions[i] >= 0 && actions[i] < 2 * d { prev[i * d + actions[i] % d] = -1 }
        return prev
    }

    /// −E over the couplings whose two spins are set.
    public var providesIntermediateLogRewards: Bool { true }

    public func intermediateLogReward(_ states: [Int32], count: Int) -> [Double] {
        let d = spinCount
        return (0..<count).map { i in
            var total = 0.0
            for c in couplings {
                let a = states[i * d + c.i], b = states[i * d + c.j]
                if a >= 0 && b >= 0 { total += c.strength * Double((2 * a - 1) * (2 * b - 1)) }
            }
            return total
        }
    }

    public func logReward(_ states: [Int32], count: Int) throws -> [Double] { intermediateLogReward(states, count: count) }

    public func encode(_ states: [Int32], count: Int, into destination: UnsafeMutablePointer<Float>) {
        let d = spinCount, width = encodingDimension
        destination.initialize(repeating: 0, count: count * width)
        for i in 0..<count {
            for s in 0..<d {
                let v = states[i * d + s]
                if v == 0 || v == 1 { destination[i * width + 2 * s + Int(v)] = 1 }
            }
        }
    }

    public var enumeratedStateCount: Int? {
        var n = 1
        for _ in 0..<spinCount { n *= 3; if n > Self.maxEnumeratedStates { return nil } }
        return n
    }

    public func allStates() -> [Int32] {
        let n = enumeratedStateCount ?? 0, d = spinCount
        var out = [Int32](repeating: 0, count: n * d)
        for i in 0..<n {
            var r = i
            for s in 0..<d { out[i * d + s] = Int32(r % 3) - 1; r /= 3 }
        }
        return out
    }

    public func stateIndex(_ states: [Int32], count: Int) -> [Int] {
        let d = spinCount
        return (0..<count).map { i in
            var index = 0, scale = 1
            for s in 0..<d { index += Int(states[i * d + s] + 1) * scale; scale *= 3 }
            return index
        }
    }

    /// The ground-state log reward (by enumeration of the 2^D full configurations; nil when D > 24).
    public func maximumLogReward() -> Double? {
        if let cachedBest { return cachedBest }
        guard spinCount <= 24 else { return nil }
        var best = -Double.infinity
        let chunk = 4096, total = 1 << spinCount
        var start = 0
        while start < total {
            let n = Swift.min(chunk, total - start)
            var states = [Int32](repeating: 0, count: n * spinCount)
            for k in 0..<n { for s in 0..<spinCount { states[k * spinCount + s] = Int32(((start + k) >> s) & 1) } }
            best = Swift.max(best, intermediateLogReward(states, count: n).max() ?? best)
            start += n
        }
        cachedBest = best
        return best
    }

    public func isMode(_ states: [Int32], count: Int) -> [Bool] {
        guard let best = maximumLogReward() else { return [Bool](repeating: false, count: count) }
        let values = intermediateLogReward(states, count: count)
        let d = spinCount
        return (0..<count).map { i in
            (0..<d).allSatisfy { states[i * d + $0] >= 0 } && values[i] >= best - 1e-9 * Swift.max(1, Swift.abs(best))
        }
    }
}
