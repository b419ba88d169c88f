import FlowTensor

/// Bit sequences built word by word (the TB paper's bit-sequence task as torchgfn's
/// `gym/bitSequence.py` defines it: append-only, left to right).
///
/// An object is a string of n bits made of m = n/k words of k bits. The state holds the m words
/// (`−1` = not written yet, otherwise the word's value in 0..<2^k, bits most-significant first);
/// s₀ = all −1. Action `a < 2^k` appends word a at the first free position; exit (action 2^k) is valid
/// only when all m words are written, so the terminal objects are the 2^n full strings. Backward action
/// a removes the last word and is valid only when that word equals a (one parent per state).
/// Encoding: one-hot of each word position over 2^k values (m·2^k floats, zeros where unset).
///
/// Reward: log R(x) = −β·min_{μ∈M} d_H(x, μ) (Hamming distance in bits; torchgfn's −d/T is β = 1/T).
/// The mode set M is seeded: each μ tiles 8-bit motifs drawn from {00000000, 11111111, 11110000,
/// 00001111, 00111100} (truncated to n bits), duplicates dropped. Intermediate log reward of a partial
/// string: −β·min_μ (distance of the written prefix to μ's prefix) — equal to log R when full.
/// Modes (cells) are the full strings within `modeThreshold` bits of some μ; the mode region of such a
/// string is the index in M of its nearest μ (lowest index on ties), so "regions found" counts the μ ∈ M
/// approached within the threshold (the TB paper's "modes found").
/// States are indexed by length then by the base-2^k number of their words (a topological order).
public final class BitSequence: DiscreteEnvironment {
    /// n bits, k bits per word.
    public let length: Int, wordSize: Int
    public let beta: Double
    public let modeThreshold: Int
    /// The mode strings M as words `[m]` each.
    public let modes: [[Int32]]
    /// The motifs tiled into modes (8 bits each, most-significant first).
    public static let motifs: [UInt8] = [0b0000_0000, 0b1111_1111, 0b1111_0000, 0b0000_1111, 0b0011_1100]
    /// Largest number of states accepted for enumeration (exact metrics).
    public static let maxEnumeratedStates = 1 << 24

    /// Words per string m = n/k.
    public var wordCount: Int { length / wordSize }
    /// Values per word 2^k.
    public var vocabulary: Int { 1 << wordSize }

    /// A description of the first invalid argument, or nil (the C layer checks this first).
    public static func problem(length: Int, wordSize: Int, modeCount: Int, beta: Double, modeThreshold: Int) -> String? {
        if wordSize < 1 || wordSize > 8 { return "word size k must be in 1…8, got \(wordSize)" }
        if length < 1 || length > 4096 { return "sequence length n must be in 1…4096, got \(length)" }
        if length % wordSize != 0 { return "word size k = \(wordSize) must divide the sequence length n = \(length)" }
        if modeCount < 1 || modeCount > 4096 { return "the number of modes must be in 1…4096, got \(modeCount)" }
        if !(beta.isFinite && beta >= 0) { return "beta must be finite and ≥ 0, got \(beta)" }
        if modeThreshold < 0 || modeThreshold > length { return "the mode threshold must be in 0…n, got \(modeThreshold)" }
        return nil
    }

    /// Seeded modes (up to `modeCount` distinct strings; fewer when n is too short to give that many).
    /// Preconditions: `problem(...) == nil`.
    public convenience init(length: Int, wordSize: Int, modeCount: Int = 60, beta: Double = 1, modeThreshold: Int = 0,
                            seed: UInt64 = 0) {
        precondition(Self.problem(length: length, wordSize: wordSize, modeCount: modeCount, beta: beta,
                                  modeThreshold: modeThreshold) == nil, "invalid BitSequence arguments")
        var rng = RandomGenerator(seed: seed)
        var seen = Set<[UInt8]>(), modes: [[UInt8]] = []
        var attempts = 0
        while modes.count < modeCount && attempts < 100 * modeCount {
            attempts += 1
            var bits: [UInt8] = []
            while bits.count < length {
                let motif = Self.motifs[rng.nextInt(below: Self.motifs.count)]
                for b in stride(from: 7, through: 0, by: -1) { bits.append((motif >> UInt8(b)) & 1) }
            }
            bits.removeLast(bits.count - length)
            if seen.insert(bits).inserted { modes.append(bits) }
        }
        self.init(length: length, wordSize: wordSize, modeBits: modes, beta: beta, modeThreshold: modeThreshold)
    }

    /// Explicit modes as bit strings of `length` bits (0/1, most-significant first within words).
    public init(length: Int, wordSize: Int, modeBits: [[UInt8]], beta: Double = 1, modeThreshold: Int = 0) {
        precondition(Self.problem(length: length, wordSize: wordSize, modeCount: Swift.max(modeBits.count, 1), beta: beta,
                                  modeThreshold: modeThreshold) == nil && !modeBits.isEmpty, "invalid BitSequence arguments")
        precondition(modeBits.allSatisfy { $0.count == length && $0.allSatisfy { $0 <= 1 } }, "modes must be n bits of 0/1")
        self.length = length; self.wordSize = wordSize; self.beta = beta; self.modeThreshold = modeThreshold
        let m = length / wordSize
        modes = modeBits.map { bits in
            (0..<m).map { j in
                var w: Int32 = 0
                for b in 0..<wordSize { w = (w << 1) | Int32(bits[j * wordSize + b]) }
                return w
            }
        }
    }

    public var stateDimension: Int { wordCount }
    public var actionCount: Int { vocabulary + 1 }
    public var encodingDimension: Int { wordCount * vocabulary }
    public var maxTrajectoryLength: Int { wordCount + 1 }
    public var initialState: [Int32] { [Int32](repeating: -1, count: wordCount) }

    /// Written words of state i.
    @inline(__always) func writtenLength(_ states: [Int32], _ i: Int) -> Int {
        let m = wordCount
        var l = 0
        while l < m && states[i * m + l] >= 0 { l += 1 }
        return l
    }

    public func forwardMask(_ states: [Int32], count: Int) -> [Bool] {
        let a = actionCount, m = wordCount
        var mask = [Bool](repeating: false, count: count * a)
        for i in 0..<count {
            let full = writtenLength(states, i) == m
            for j in 0..<(a - 1) { mask[i * a + j] = !full }
            mask[i * a + a - 1] = full
        }
        return mask
    }

    public func backwardMask(_ states: [Int32], count: Int) -> [Bool] {
        let v = vocabulary, m = wordCount
        var mask = [Bool](repeating: false, count: count * v)
        for i in 0..<count {
            let l = writtenLength(states, i)
            if l > 0 { let w = Int(states[i * m + l - 1]); if w >= 0 && w < v { mask[i * v + w] = true } }
        }
        return mask
    }

    public func step(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        var next = states
        let m = wordCount
        for i in 0..<count where actions[i] >= 0 && actions[i] < vocabulary {
            let l = writtenLength(states, i)
            if l < m { next[i * m + l] = Int32(actions[i]) }
        }
        return next
    }

    public func backwardStep(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        var prev = states
        let m = wordCount
        for i in 0..<count where actions[i] >= 0 && actions[i] < vocabulary {
            let l = writtenLength(states, i)
            if l > 0 { prev[i * m + l - 1] = -1 }
        }
        return prev
    }

    /// Distance in bits of the written prefix of state i to each mode's prefix, and the nearest mode.
    func nearestMode(_ states: [Int32], _ i: Int) -> (distance: Int, mode: Int) {
        let m = wordCount, l = writtenLength(states, i)
        var best = Int.max, arg = 0
        for (k, mu) in modes.enumerated() {
            var d = 0
            for j in 0..<l { d += (Int(states[i * m + j]) ^ Int(mu[j])).nonzeroBitCount }
            if d < best { best = d; arg = k }
        }
        return (best, arg)
    }

    public func logReward(_ states: [Int32], count: Int) throws -> [Double] { intermediateLogReward(states, count: count) }

    public var providesIntermediateLogRewards: Bool { true }

    public func intermediateLogReward(_ states: [Int32], count: Int) -> [Double] {
        (0..<count).map { -beta * Double(nearestMode(states, $0).distance) }
    }

    public func encode(_ states: [Int32], count: Int, into destination: UnsafeMutablePointer<Float>) {
        let width = encodingDimension, m = wordCount, v = vocabulary
        destination.initialize(repeating: 0, count: count * width)
        for i in 0..<count {
            for j in 0..<m {
                let w = Int(states[i * m + j])
                if w >= 0 && w < v { destination[i * width + j * v + w] = 1 }
            }
        }
    }

    /// Σ_{l=0}^{m} (2^k)^l, or nil above `maxEnumeratedStates`.
    public var enumeratedStateCount: Int? {
        var total = 0, level = 1
        for l in 0...wordCount {
            total += level
            if total > Self.maxEnumeratedStates { return nil }
            if l < wordCount { level *= vocabulary; if level > Self.maxEnumeratedStates { return nil } }
        }
        return total
    }

    public func allStates() -> [Int32] {
        guard let n = enumeratedStateCount else { return [] }
        let m = wordCount, v = vocabulary
        var out = [Int32](repeating: -1, count: n * m)
        var row = 0, level = 1
        for l in 0...m {
            for code in 0..<level {
                var r = code
                for j in stride(from: l - 1, through: 0, by: -1) { out[row * m + j] = Int32(r % v); r /= v }
                row += 1
            }
            level *= v
        }
        return out
    }

    public func stateIndex(_ states: [Int32], count: Int) -> [Int] {
        let m = wordCount, v = vocabulary
        return (0..<count).map { i in
            let l = writtenLength(states, i)
            var offset = 0, level = 1
            for _ in 0..<l { offset += level; level *= v }
            var code = 0
            for j in 0..<l { code = code * v + Int(states[i * m + j]) }
            return offset + code
        }
    }

    public func isMode(_ states: [Int32], count: Int) -> [Bool] {
        (0..<count).map { writtenLength(states, $0) == wordCount && nearestMode(states, $0).distance <= modeThreshold }
    }

    /// The index in `modes` of the nearest mode string of each mode cell, −1 for other states.
    public func modeRegion(_ states: [Int32], count: Int) -> [Int] {
        (0..<count).map { i in
            guard writtenLength(states, i) == wordCount else { return -1 }
            let (d, k) = nearestMode(states, i)
            return d <= modeThreshold ? k : -1
        }
    }
}
