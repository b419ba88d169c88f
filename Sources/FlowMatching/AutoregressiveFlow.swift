import FlowTensor
import FlowAutodiff
import FlowNN
import FlowOptim
#if canImport(Glibc)
import Glibc
#endif

/// MADE (Germain, Gregor, Murray & Larochelle, ICML 2015): an MLP whose weights are masked so output i sees
/// only inputs j < i. Input j has degree j + 1; hidden unit k has degree k mod max(D − 1, 1) + 1 (cyclic,
/// deterministic); a hidden unit of degree m sees inputs of degree ≤ m, and output i (degree i + 1) sees hidden
/// units of degree < i + 1. It returns 2D outputs: the shift μ and the raw log-scale of each dimension.
final class MADE: Module {
    let dim: Int
    let layers: [Linear]
    /// Constant 0/1 masks, one per layer, shaped like its weight [out, in].
    let masks: [Tensor]

    init(dim: Int, hiddenWidth: Int, hiddenLayers: Int, rng: inout RandomGenerator) {
        self.dim = dim
        let widths = [dim] + [Int](repeating: hiddenWidth, count: hiddenLayers) + [2 * dim]
        layers = (0..<(widths.count - 1)).map { Linear(widths[$0], widths[$0 + 1], rng: &rng) }
        let inputDegrees = (0..<dim).map { $0 + 1 }
        let hiddenDegrees = (0..<hiddenWidth).map { $0 % Swift.max(dim - 1, 1) + 1 }
        let outputDegrees = inputDegrees + inputDegrees   // μ then log-scale
        let degrees = [inputDegrees] + [[Int]](repeating: hiddenDegrees, count: hiddenLayers) + [outputDegrees]
        let count = widths.count - 1
        masks = (0..<count).map { l in
            let (from, to) = (degrees[l], degrees[l + 1])
            let last = l == count - 1
            var m = Tensor(zeros: [to.count, from.count])
            m.withUnsafeMutableBufferPointer { p in
                for o in 0..<to.count { for i in 0..<from.count where last ? to[o] > from[i] : to[o] >= from[i] { p[o * from.count + i] = 1 } }
            }
            return m
        }
    }

    /// (μ, raw log-scale), each [n, dim], for inputs x [n, dim].
    func callAsFunction(_ x: Variable) -> (shift: Variable, logScale: Variable) {
        var h = x
        for (l, layer) in layers.enumerated() {
            h = linear(h, weight: layer.weight * Variable(masks[l]), bias: layer.bias)
            if l < layers.count - 1 { h = h.relu() }
        }
        return (h.slice(axis: 1, start: 0, end: dim), h.slice(axis: 1, start: dim, end: 2 * dim))
    }

    /// The layers with their masks applied, for `evaluate` (compute once per inference call).
    func maskedLayers() -> [(weight: Tensor, bias: Tensor?)] {
        zip(layers, masks).map { ($0.weight.value * $1, $0.bias?.value) }
    }

    /// (μ, raw log-scale) side by side, [n, 2·dim], for inference (no graph) with `maskedLayers()`.
    func evaluate(_ x: Tensor, maskedLayers: [(weight: Tensor, bias: Tensor?)]) -> Tensor {
        evaluateDenseLayers(x, layers: maskedLayers, activation: .relu, outputActivation: .identity)
    }

    func namedParameters() -> [(name: String, parameter: Variable)] {
        layers.enumerated().flatMap { scoped("layers.\($0.offset)", $0.element) }
    }
}

/// Masked autoregressive flow (Papamakarios, Pavlakou & Murray, NeurIPS 2017): a density with an exact
/// likelihood. Each of `blocks` MADE layers maps h → u with u_i = (h_i − μ_i(h_<i))·exp(−α_i(h_<i)) (its
/// Jacobian is triangular with diagonal exp(−α_i), so log|det| = −Σα_i), followed by reversing the order of
/// the dimensions; the last u is N(0, I). log p(x) = log N(u) − Σ_blocks Σ_i α_i. α = b·tanh(raw/b) with
/// b = `logScaleBound` keeps exp(±α) finite. Sampling inverts the blocks, one MADE pass per dimension.
/// Trained by Adam on the mean negative log-likelihood of minibatches.
public final class MaskedAutoregressiveFlow: Module {
    /// Everything that defines a flow before training.
    public struct Configuration: Sendable, Equatable {
        public var dim: Int
        /// MADE blocks (each followed by a reversal of the dimensions).
        public var blocks = 5
        public var hiddenWidth = 64
        public var hiddenLayers = 2
        public var learningRate: Float = 1e-3
        public var batchSize = 256
        public var seed: UInt64 = 0
        /// Soft bound b on the log-scales: α = b·tanh(raw/b).
        public var logScaleBound: Float = 8
        public init(dim: Int) { self.dim = dim }

        /// A message naming the first invalid field or the weight limit, or nil.
        public var problem: String? {
            if let rangeProblem { return rangeProblem }
            if weightCount > Self.maxWeights { return "the flow would have \(weightCount) weights (limit 2^28)" }
            return nil
        }

        /// A message naming the first field outside its range, or nil.
        public var rangeProblem: String? {
            if dim < 1 || dim > 4096 { return "dim must be in 1…4096, got \(dim)" }
            if blocks < 1 || blocks > 64 { return "blocks must be in 1…64, got \(blocks)" }
            if hiddenWidth < 1 || hiddenWidth > 65536 { return "hidden width must be in 1…65536, got \(hiddenWidth)" }
            if hiddenLayers < 1 || hiddenLayers > 16 { return "hidden layers must be in 1…16, got \(hiddenLayers)" }
            if !learningRate.isFinite || learningRate <= 0 { return "learning rate must be finite and > 0, got \(learningRate)" }
            if batchSize < 1 || batchSize > 1 << 20 { return "batch size must be in 1…2^20, got \(batchSize)" }
            if !logScaleBound.isFinite || logScaleBound <= 0 || logScaleBound > 30 { return "log-scale bound must be in (0, 30], got \(logScaleBound)" }
            return nil
        }

        /// Largest number of weights a flow may have.
        public static let maxWeights = 1 << 28
        /// Weights of all MADE blocks (meaningful once the sizes are in their ranges).
        public var weightCount: Int {
            blocks * (dim * hiddenWidth + (hiddenLayers - 1) * hiddenWidth * hiddenWidth + 2 * dim * hiddenWidth)
        }
    }

    public let configuration: Configuration
    let blocks: [MADE]
    let optimizer: Adam
    var rng: RandomGenerator
    /// The reversal applied after every block.
    let reversal: [Int]

    public init(_ configuration: Configuration) {
        precondition(configuration.problem == nil, configuration.problem ?? "")
        self.configuration = configuration
        var initRNG = RandomGenerator(seed: configuration.seed ^ 0x4D41_4600)
        let made = (0..<configuration.blocks).map { _ in
            MADE(dim: configuration.dim, hiddenWidth: configuration.hiddenWidth, hiddenLayers: configuration.hiddenLayers, rng: &initRNG)
        }
        blocks = made
        reversal = Array((0..<configuration.dim).reversed())
        rng = RandomGenerator(seed: configuration.seed)
        optimizer = Adam(groups: [ParameterGroup(parameters: made.flatMap(\.parameters), learningRate: configuration.learningRate)])
    }

    public var dim: Int { configuration.dim }
    /// Optimizer steps taken so far.
    public var step: Int { optimizer.stepCount }

    func logScale(_ raw: Variable) -> Variable {
        let b = configuration.logScaleBound
        return (raw * (1 / b)).tanh() * b
    }

    /// log p(x) per row of x [n, dim] on the autodiff graph (natural log).
    public func logProbability(_ x: Variable) -> Variable {
        precondition(x.rank == 2 && x.shape[1] == dim, "MAF input must be [n, \(dim)], got \(x.shape)")
        var h = x
        var logDet: Variable? = nil
        for block in blocks {
            let (mu, raw) = block(h)
            let alpha = logScale(raw)
            let u = (h - mu) * (-alpha).exp()
            let s = alpha.sum(axis: 1)
            logDet = logDet.map { $0 - s } ?? -s
            h = u.indexSelect(axis: 1, indices: reversal)
        }
        let base = (h * h).sum(axis: 1) * (-0.5) - Float(0.5 * Double(dim) * log(2 * Double.pi))
        return base + logDet!
    }

    /// log p(x) per row of x [n, dim] (natural log), without gradients (the same arithmetic as the graph path
    /// on the fused dense evaluation).
    public func logProbability(_ x: Tensor) -> [Float] {
        precondition(x.rank == 2 && x.shape[1] == dim, "MAF input must be [n, \(dim)], got \(x.shape)")
        let n = x.shape[0], d = dim, b = configuration.logScaleBound
        let h = x.copy()
        var logp = [Float](repeating: 0, count: n)
        let next = Tensor(uninitialized: [n, d])
        for block in blocks {
            let params = block.evaluate(h, maskedLayers: block.maskedLayers())   // [n, 2d]: μ then raw log-scale
            let pp = params.storage.pointer, ph = h.storage.pointer, pn = next.storage.pointer
            for r in 0..<n {
                var sum: Float = 0
                for i in 0..<d {
                    let alpha = b * tanhf(pp[r * 2 * d + d + i] / b)
                    sum += alpha
                    pn[r * d + (d - 1 - i)] = (ph[r * d + i] - pp[r * 2 * d + i]) * expf(-alpha)   // u, reversed
                }
                logp[r] -= sum
            }
            ph.update(from: pn, count: n * d)
        }
        let constant = Float(0.5 * Double(d) * log(2 * Double.pi)), ph = h.storage.pointer
        for r in 0..<n {
            var sq: Float = 0
            for i in 0..<d { sq += ph[r * d + i] * ph[r * d + i] }
            logp[r] += -0.5 * sq - constant
        }
        return withExtendedLifetime((h, next)) { logp }
    }

    /// Maps noise z [n, dim] to data by inverting the blocks (dim MADE passes per block).
    public func inverse(_ z: Tensor) -> Tensor {
        precondition(z.rank == 2 && z.shape[1] == dim, "MAF noise must be [n, \(dim)]")
        let n = z.shape[0], d = dim
        let b = configuration.logScaleBound
        var h = z
        for block in blocks.reversed() {
            let u = h.indexSelect(axis: 1, indices: reversal)   // the reversal is its own inverse
            let x = Tensor(zeros: [n, d])
            let px = x.storage.pointer, pu = u.storage.pointer
            let masked = block.maskedLayers()
            for i in 0..<d {
                // Dimension i depends only on dimensions < i, which are final after pass i.
                let params = block.evaluate(x, maskedLayers: masked), pp = params.storage.pointer
                for r in 0..<n {
                    let alpha = b * tanhf(pp[r * 2 * d + d + i] / b)
                    px[r * d + i] = pu[r * d + i] * expf(alpha) + pp[r * 2 * d + i]
                }
            }
            h = withExtendedLifetime(u) { x }
        }
        return h
    }

    /// n samples [n, dim]: z ~ N(0, I) from `seed`, mapped through `inverse`.
    public func sample(_ n: Int, seed: UInt64) -> Tensor {
        var g = RandomGenerator(seed: seed)
        return inverse(g.normal([n, dim]))
    }

    /// `steps` Adam steps on the mean negative log-likelihood of `batchSize` distinct rows of `data` [n, dim]
    /// per step. Returns the last loss; `progress(step, total, loss)` returns false to stop. A non-finite loss
    /// stops before its update (`TrainingError.numerical`).
    @discardableResult
    public func fit(data: Tensor, steps: Int, progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Float {
        precondition(data.rank == 2 && data.shape[1] == dim && data.shape[0] > 0, "data must be [n, \(dim)]")
        let b = Swift.min(configuration.batchSize, data.shape[0])
        var last = Float.nan
        for s in 1...Swift.max(steps, 1) where steps > 0 {
            let rows = Array(rng.permutation(data.shape[0]).prefix(b))
            let loss = -logProbability(Variable(selectRows(data, rows))).mean()
            last = loss.value.scalar
            guard last.isFinite else { throw TrainingError.numerical(step: step + 1, loss: last) }
            optimizer.clearGradients()
            loss.backward()
            optimizer.step()
            if let progress, !progress(s, steps, last) { throw TrainingError.cancelled(step: s) }
        }
        return last
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        blocks.enumerated().flatMap { scoped("blocks.\($0.offset)", $0.element) }
    }
}
