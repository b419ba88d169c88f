import FlowTensor

/// Checkpoint metadata of the BitSequence, Ising and set environments ("flowgen.env" = "bitseq",
/// "ising" or "set"), stored exactly (mode strings, couplings and energies themselves, reals as IEEE-754
/// bit patterns) so a loaded run needs no seed to rebuild its environment.
enum ZooCheckpoint {
    /// Metadata fields (keys without the "flowgen." prefix) of a zoo environment, nil for other environments.
    static func fields(of env: DiscreteEnvironment) -> [String: String]? {
        switch env {
        case let b as BitSequence:
            let modes = b.modes.map { words in
                words.map { w in String((0..<b.wordSize).map { k in (w >> Int32(b.wordSize - 1 - k)) & 1 == 1 ? "1" : "0" }) }.joined()
            }
            return ["env": "bitseq", "seq_len": String(b.length), "word_size": String(b.wordSize),
                    "beta": String(b.beta.bitPattern), "mode_threshold": String(b.modeThreshold),
                    "modes": modes.joined(separator: ",")]
        case let i as IsingModel:
            return ["env": "ising", "spins": String(i.spinCount),
                    "couplings": i.couplings.map { "\($0.i):\($0.j):\($0.strength.bitPattern)" }.joined(separator: ",")]
        case let s as SetGeneration:
            return ["env": "set", "set_size": String(s.setSize), "energies": s.energies.map { String($0.bitPattern) }.joined(separator: ",")]
        default:
            return nil
        }
    }

    /// Rebuilds the environment named by `kind` from `fields`; every value is checked (FlowIOError.corrupt).
    static func environment(kind: String, fields: CheckpointMetadata) throws -> DiscreteEnvironment {
        func double(_ text: Substring) throws -> Double {
            guard let bits = UInt64(text) else { throw FlowIOError.corrupt("checkpoint environment value '\(text)' is invalid") }
            return Double(bitPattern: bits)
        }
        switch kind {
        case "bitseq":
            let n = try fields.integer("seq_len", as: Int.self), k = try fields.integer("word_size", as: Int.self)
            let beta = Double(bitPattern: try fields.integer("beta", as: UInt64.self))
            let threshold = try fields.integer("mode_threshold", as: Int.self)
            let modes = try fields.string("modes").split(separator: ",").map { m -> [UInt8] in
                guard m.count == n, m.allSatisfy({ $0 == "0" || $0 == "1" }) else { throw FlowIOError.corrupt("checkpoint bitseq modes are invalid") }
                return m.map { $0 == "1" ? 1 : 0 }
            }
            guard !modes.isEmpty, BitSequence.problem(length: n, wordSize: k, modeCount: modes.count, beta: beta, modeThreshold: threshold) == nil else {
                throw FlowIOError.corrupt("checkpoint bitseq parameters are invalid")
            }
            return BitSequence(length: n, wordSize: k, modeBits: modes, beta: beta, modeThreshold: threshold)
        case "ising":
            let d = try fields.integer("spins", as: Int.self)
            guard d >= 1, d <= 1 << 16 else { throw FlowIOError.corrupt("checkpoint ising spin count is invalid") }
            var list: [(i: Int, j: Int, strength: Double)] = []
            var seen = Set<Int>()
            for entry in try fields.string("couplings").split(separator: ",") {
                let parts = entry.split(separator: ":")
                guard parts.count == 3, let i = Int(parts[0]), let j = Int(parts[1]), i >= 0, i < j, j < d,
                      seen.insert(i * d + j).inserted else {
                    throw FlowIOError.corrupt("checkpoint ising couplings are invalid")
                }
                let v = try double(parts[2])
                guard v.isFinite else { throw FlowIOError.corrupt("checkpoint ising couplings are not finite") }
                list.append((i, j, v))
            }
            return IsingModel(spinCount: d, couplings: list)
        case "set":
            let k = try fields.integer("set_size", as: Int.self)
            let energies = try fields.string("energies").split(separator: ",").map(double)
            guard !energies.isEmpty, energies.count <= 4096, energies.allSatisfy(\.isFinite), k >= 1, k <= energies.count else {
                throw FlowIOError.corrupt("checkpoint set parameters are invalid")
            }
            return SetGeneration(energies: energies, setSize: k)
        default:
            throw FlowIOError.corrupt("unknown environment '\(kind)'")
        }
    }
}
