#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlowGen

/// Options of the BitSequence, Ising and set environments of `flowgen gfn train`.
struct GFlowNetZooOptions: ParsableArguments {
    @Option(name: .customLong("seq-len"), help: "bitseq: sequence length n in bits.") var seqLen: Int = 12
    @Option(name: .customLong("word-size"), help: "bitseq: bits per word k (divides n, 1…8).") var wordSize: Int = 4
    @Option(name: .customLong("n-modes"), help: "bitseq: number of seeded mode strings.") var nModes: Int = 8
    @Option(help: "bitseq: log R = −β·(Hamming distance to the nearest mode); set: energies β·{0, ¼, ½, ¾, 1}.") var beta: Double = 1
    @Option(name: .customLong("mode-threshold"), help: "bitseq: strings within this many bits of a mode count as modes.")
    var modeThreshold: Int = 0
    @Option(name: .customLong("ising-side"), help: "ising: lattice side L (D = L spins, L² for the torus).") var isingSide: Int = 3
    @Option(name: .customLong("ising-dims"), help: "ising: lattice dimensions (0 = every pair coupled, 1 = ring, 2 = torus).") var isingDims: Int = 2
    @Option(help: "ising: coupling J of neighbouring spins (log R = J·Σ σ_i σ_j).") var coupling: Double = 0.5
    @Option(help: "set: number of items N.") var items: Int = 12
    @Option(name: .customLong("set-size"), help: "set: items per set k.") var setSize: Int = 6
    @Option(name: .customLong("env-seed"), help: "bitseq/set: seed of the mode strings / energies.") var envSeed: UInt64 = 0

    /// The environment named `kind`, a one-line description and its JSON fields.
    func environment(_ kind: String) throws -> (DiscreteEnvironment, String, [(String, JSONValue)]) {
        switch kind {
        case "bitseq":
            if let p = BitSequence.problem(length: seqLen, wordSize: wordSize, modeCount: nModes, beta: beta, modeThreshold: modeThreshold) {
                throw ValidationError(p)
            }
            let env = BitSequence(length: seqLen, wordSize: wordSize, modeCount: nModes, beta: beta, modeThreshold: modeThreshold, seed: envSeed)
            return (env, "bitseq n=\(seqLen) k=\(wordSize) modes=\(env.modes.count) β=\(beta)",
                    [("seq_len", .number(Double(seqLen))), ("word_size", .number(Double(wordSize)))])
        case "ising":
            if let p = IsingModel.latticeProblem(side: isingSide, dimensions: isingDims, coupling: coupling) { throw ValidationError(p) }
            let env = IsingModel(latticeSide: isingSide, dimensions: isingDims, coupling: coupling)
            return (env, "ising \(isingDims)-D side \(isingSide) (\(env.spinCount) spins) J=\(coupling)",
                    [("ising_side", .number(Double(isingSide))), ("ising_dims", .number(Double(isingDims)))])
        default:
            if let p = SetGeneration.problem(itemCount: items, setSize: setSize, beta: beta) { throw ValidationError(p) }
            let env = SetGeneration(itemCount: items, setSize: setSize, beta: beta, seed: envSeed)
            return (env, "set N=\(items) k=\(setSize) β=\(beta)",
                    [("items", .number(Double(items))), ("set_size", .number(Double(setSize)))])
        }
    }
}

/// A hand-written SVG for non-grid environments: learned exact P_T(x) against R(x)/Z for every
/// terminal object (log-log scatter with the diagonal) and the training loss curve.
func gfnScatterSVG(learned: [Double], target: [Double], losses: [Float], title: String) -> String {
    let objects = target.indices.filter { target[$0] > 0 }
    let floor = 1e-12
    let xs = objects.map { log10(Swift.max(target[$0], floor)) }, ys = objects.map { log10(Swift.max(learned[$0], floor)) }
    let lo = Swift.min(xs.min() ?? -1, ys.min() ?? -1), hi = Swift.max(xs.max() ?? 0, ys.max() ?? 0, lo + 1e-9)
    let left = 50.0, top = 55.0, side = 300.0
    func px(_ v: Double) -> Double { left + side * (v - lo) / (hi - lo) }
    func py(_ v: Double) -> Double { top + side * (1 - (v - lo) / (hi - lo)) }
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"420\" font-family=\"sans-serif\" font-size=\"13\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"10\" y=\"20\" font-size=\"15\">\(escapeXML(title))</text>\n"
    s += "<text x=\"\(left)\" y=\"45\">log10 learned P_T(x) (exact) vs log10 R(x)/Z, \(objects.count) objects</text>\n"
    s += "<rect x=\(q(left)) y=\(q(top)) width=\(q(side)) height=\(q(side)) fill=\"none\" stroke=\"#888\"/>\n"
    s += "<line x1=\(q(px(lo))) y1=\(q(py(lo))) x2=\(q(px(hi))) y2=\(q(py(hi))) stroke=\"#bbb\"/>\n"
    let stride = Swift.max(1, objects.count / 5000)
    for k in Swift.stride(from: 0, to: objects.count, by: stride) {
        s += "<circle cx=\(q(px(xs[k]))) cy=\(q(py(ys[k]))) r=\"2\" fill=\"#2a5caa\" fill-opacity=\"0.6\"/>\n"
    }
    s += "<text x=\(q(left)) y=\(q(top + side + 16))>10^\(format3("", lo)) … 10^\(format3("", hi))</text>\n"
    s += gfnLossCurveSVG(losses, left: 420, top: top, width: 540, height: side)
    s += "</svg>\n"
    return s
}

/// The training loss (moving average over ≤ 400 points, log scale) in a box at (left, top).
func gfnLossCurveSVG(_ losses: [Float], left: Double, top: Double, width: Double, height: Double) -> String {
    var s = "<text x=\"\(left)\" y=\"45\">training loss (moving average, log scale)</text>\n"
    s += "<rect x=\(q(left)) y=\(q(top)) width=\(q(width)) height=\(q(height)) fill=\"none\" stroke=\"#888\"/>\n"
    guard !losses.isEmpty else { return s }
    let points = Swift.min(400, losses.count)
    let window = Swift.max(1, losses.count / points)
    var ys: [Double] = []
    var i = 0
    while i < losses.count {
        let chunk = losses[i..<Swift.min(losses.count, i + window)]
        ys.append(log10(Swift.max(Double(chunk.reduce(0, +)) / Double(chunk.count), 1e-12)))
        i += window
    }
    let lo = ys.min() ?? 0, hi = Swift.max(ys.max() ?? 0, lo + 1e-9)
    var path = ""
    for (k, y) in ys.enumerated() {
        let px = left + width * Double(k) / Double(Swift.max(ys.count - 1, 1))
        let py = top + height * (1 - (y - lo) / (hi - lo))
        path += (k == 0 ? "M" : "L") + "\(format3("", px)),\(format3("", py)) "
    }
    s += "<path d=\"\(path)\" fill=\"none\" stroke=\"#c33\" stroke-width=\"1.5\"/>\n"
    s += "<text x=\(q(left + 4)) y=\(q(top + 14))>10^\(format3("", hi))</text>\n"
    s += "<text x=\(q(left + 4)) y=\(q(top + height - 4))>10^\(format3("", lo))</text>\n"
    s += "<text x=\(q(left + width - 90)) y=\(q(top + height + 16))>\(losses.count) steps</text>\n"
    return s
}
