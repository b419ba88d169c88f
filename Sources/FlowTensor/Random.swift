#if canImport(Glibc)
import Glibc
#endif

/// Seeded pseudo-random generator: xoshiro256** (Blackman & Vigna 2018) seeded through SplitMix64.
/// Same seed → same stream on every machine and thread count; the whole state is four words and can be
/// saved in a checkpoint (`state`) and restored (`init(state:)`).
public struct RandomGenerator: Sendable {
    /// The four state words.
    public var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose stream is fully determined by `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(&sm), splitMix(&sm), splitMix(&sm), splitMix(&sm))
    }

    /// Restores a generator from saved state words (an all-zero state is replaced by seed 0's).
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        let allZero = state.0 == 0 && state.1 == 0 && state.2 == 0 && state.3 == 0
        self.state = allZero ? RandomGenerator(seed: 0).state : state
    }

    /// The state as an array (for checkpoints).
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    /// Next 64 random bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inlinable @inline(__always)
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// Uniform in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable @inline(__always)
    public mutating func nextUniformDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal sample (Box–Muller, one value per two uniforms).
    @inlinable
    public mutating func nextNormal() -> Float {
        let u1 = 1.0 - nextUniformDouble()          // (0, 1]
        let u2 = nextUniformDouble()
        return Float((-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2))
    }

    /// Uniform integer in 0..<bound (Lemire's nearly divisionless method, unbiased).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Tensor of i.i.d. uniforms on [low, high).
    public mutating func uniform(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        var t = Tensor(uninitialized: shape)
        let width = high - low
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = low + width * nextUniform() }
        }
        return t
    }

    /// Tensor of i.i.d. normals with the given mean and standard deviation.
    public mutating func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        var t = Tensor(uninitialized: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = mean + std * nextNormal() }
        }
        return t
    }

    /// Tensor of Bernoulli(p) draws as 0/1 floats.
    public mutating func bernoulli(_ shape: [Int], probability: Float) -> Tensor {
        var t = Tensor(uninitialized: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = nextUniform() < probability ? 1 : 0 }
        }
        return t
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var perm = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                perm.swapAt(i, nextInt(below: i + 1))
            }
        }
        return perm
    }

    /// One category per row of `logits` [rows, categories], drawn from softmax(logits) by inverse CDF.
    /// Entries equal to -inf have probability zero. Rows must have at least one finite logit.
    public mutating func categorical(logits: Tensor) -> [Int] {
        precondition(logits.rank == 2, "categorical expects logits [rows, categories], got \(logits.shape)")
        let rows = logits.shape[0], k = logits.shape[1]
        var out = [Int](repeating: 0, count: rows)
        logits.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                let row = p.baseAddress! + r * k
                var m = -Float.infinity
                for j in 0..<k where row[j] > m { m = row[j] }
                var total: Double = 0
                for j in 0..<k { total += Double(expf(row[j] - m)) }
                let u = nextUniformDouble() * total
                var acc: Double = 0
                var chosen = -1
                for j in 0..<k {
                    let w = Double(expf(row[j] - m))
                    if w > 0 { chosen = j }
                    acc += w
                    if acc > u && w > 0 { chosen = j; break }
                }
                out[r] = Swift.max(chosen, 0)
            }
        }
        return out
    }
}
