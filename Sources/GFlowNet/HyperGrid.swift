#if canImport(Glibc)
import Glibc
#endif

/// HyperGrid (Bengio et al. 2021) exactly as torchgfn's `gym/hypergrid.py` defines it.
///
/// States x ∈ {0,…,H−1}^D with s₀ = 0. Actions: `a < D` increments coordinate a (masked when x_a = H−1),
/// `a = D` is exit (always allowed, so every state is terminating). Backward action a decrements x_a
/// (valid when x_a > 0). Encoding: K-hot, the concatenation of one-hot(x_d, H) → D·H floats.
/// Reward ("original"): with a_d = |x_d/(H−1) − 0.5|,
///   R(x) = R0 + R1·Π_d 1[0.25 < a_d] + R2·Π_d 1[0.3 < a_d < 0.4],
/// strict inequalities guarded by ε = 1e-12 as in torchgfn (so a_d = 0.30000000000000004 is outside).
/// Modes are the cells whose reward is the maximum R0 + R1 + R2 (when any exists).
/// States are indexed by Σ_d x_d·H^d, a topological order (an increment raises the index).
public final class HyperGrid: DiscreteEnvironment {
    public let ndim: Int
    public let height: Int
    public let r0: Double, r1: Double, r2: Double
    /// Largest number of states accepted for enumeration (exact metrics).
    public static let maxEnumeratedStates = 1 << 24

    /// Preconditions: ndim ≥ 1, height ≥ 2, H^D ≤ 2^62, rewards finite with r0 > 0, r1, r2 ≥ 0
    /// (the C layer validates these first).
    public init(ndim: Int, height: Int, r0: Double = 0.1, r1: Double = 0.5, r2: Double = 2.0) {
        precondition(ndim >= 1 && height >= 2, "HyperGrid needs ndim ≥ 1 and height ≥ 2")
        precondition(HyperGrid.stateCount(ndim: ndim, height: height) != nil, "HyperGrid too large")
        precondition(r0.isFinite && r0 > 0 && r1.isFinite && r1 >= 0 && r2.isFinite && r2 >= 0,
                     "HyperGrid rewards must be finite, r0 > 0, r1, r2 ≥ 0")
        self.ndim = ndim; self.height = height
        self.r0 = r0; self.r1 = r1; self.r2 = r2
    }

    /// H^D, or nil when it exceeds 2^62.
    public static func stateCount(ndim: Int, height: Int) -> Int? {
        var n = 1
        for _ in 0..<ndim {
            let (p, o) = n.multipliedReportingOverflow(by: height)
            if o || p > 1 << 62 { return nil }
            n = p
        }
        return n
    }

    public var stateDimension: Int { ndim }
    public var actionCount: Int { ndim + 1 }
    public var encodingDimension: Int { ndim * height }
    public var maxTrajectoryLength: Int { ndim * (height - 1) + 1 }
    public var initialState: [Int32] { [Int32](repeating: 0, count: ndim) }

    public func forwardMask(_ states: [Int32], count: Int) -> [Bool] {
        let a = actionCount, top = Int32(height - 1)
        var mask = [Bool](repeating: true, count: count * a)
        for i in 0..<count {
            for d in 0..<ndim { mask[i &* a &+ d] = states[i &* ndim &+ d] < top }
        }
        return mask
    }

    public func backwardMask(_ states: [Int32], count: Int) -> [Bool] {
        var mask = [Bool](repeating: false, count: count * ndim)
        for i in 0..<(count * ndim) { mask[i] = states[i] > 0 }
        return mask
    }

    public func step(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        var next = states
        for i in 0..<count where actions[i] >= 0 && actions[i] < ndim { next[i &* ndim &+ actions[i]] += 1 }
        return next
    }

    public func backwardStep(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        var prev = states
        for i in 0..<count where actions[i] >= 0 && actions[i] < ndim { prev[i &* ndim &+ actions[i]] -= 1 }
        return prev
    }

    /// R(x) of one state (Double precision, torchgfn's formula).
    public func reward(_ x: ArraySlice<Int32>) -> Double {
        let eps = 1e-12
        var outer = true, band = true
        for v in x {
            let ad = Swift.abs(Double(v) / Double(height - 1) - 0.5)
            if !(0.25 + eps < ad) { outer = false }
            if !(0.3 + eps < ad && ad < 0.4 - eps) { band = false }
        }
        return r0 + (outer ? r1 : 0) + (band ? r2 : 0)
    }

    public func logReward(_ states: [Int32], count: Int) throws -> [Double] {
        (0..<count).map { i in Glibc.log(reward(states[(i * ndim)..<((i + 1) * ndim)])) }
    }

    public func encode(_ states: [Int32], count: Int, into destination: UnsafeMutablePointer<Float>) {
        let width = encodingDimension
        destination.initialize(repeating: 0, count: count * width)
        for i in 0..<count {
            for d in 0..<ndim {
                let v = Int(states[i &* ndim &+ d])
                if v >= 0 && v < height { destination[i &* width &+ d &* height &+ v] = 1 }
            }
        }
    }

    public var enumeratedStateCount: Int? {
        guard let n = HyperGrid.stateCount(ndim: ndim, height: height), n <= HyperGrid.maxEnumeratedStates else { return nil }
        return n
    }

    public func allStates() -> [Int32] {
        let n = enumeratedStateCount ?? 0
        var out = [Int32](repeating: 0, count: n * ndim)
        for i in 0..<n {
            var r = i
            for d in 0..<ndim { out[i * ndim + d] = Int32(r % height); r /= height }
        }
        return out
    }

    public func stateIndex(_ states: [Int32], count: Int) -> [Int] {
        (0..<count).map { i in
            var index = 0, scale = 1
            for d in 0..<ndim { index += Int(states[i * ndim + d]) * scale; scale &*= height }
            return index
        }
    }

    /// The largest reward of any cell: R0, plus R1 when some coordinate value lies in the outer region,
    /// plus R2 when some lies in the band (the band lies inside the outer region).
    public var modeReward: Double {
        var outerExists = false, bandExists = false
        for v in 0..<height {
            let ad = Swift.abs(Double(v) / Double(height - 1) - 0.5)
            if 0.25 + 1e-12 < ad { outerExists = true }
            if 0.3 + 1e-12 < ad && ad < 0.4 - 1e-12 { bandExists = true }
        }
        return r0 + (outerExists ? r1 : 0) + (bandExists ? r2 : 0)
    }

    public func isMode(_ states: [Int32], count: Int) -> [Bool] {
        let best = modeReward
        return (0..<count).map { i in reward(states[(i * ndim)..<((i + 1) * ndim)]) >= best * (1 - 1e-12) }
    }
}
