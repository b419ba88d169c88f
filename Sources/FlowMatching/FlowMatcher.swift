import FlowTensor
import FlowAutodiff
import FlowNN
import FlowOptim

/// Conditional flow matching (Lipman et al. 2023; Tong et al. 2024): a velocity MLP v_θ(x, t) trained
/// by regressing the conditional velocity u_t of a probability path, with a coupling of source and
/// target minibatches; sampling integrates dx/dt = v_θ from t = 0 (source) to t = 1 (data).
/// A matcher = scheduler × noise × coupling, chosen by `Method`. Everything needed to resume
/// bit-for-bit (weights, AdamW moments, step, RNG) is in `checkpoint()`.
public final class FlowMatcher {
    /// The published variants.
    public enum Method: UInt32, CaseIterable, Sendable {
        /// I-CFM: x_t = t x1 + (1 − t) x0 + σε, u = x1 − x0, independent coupling.
        case icfm = 0
        /// OT-CFM: I-CFM on exact minibatch-OT pairs.
        case otcfm = 1
        /// Lipman FM: x_t = t x1 + (1 − (1 − σ) t) x0, u = x1 − (1 − σ) x0 (σ = σ_min). Gaussian source.
        case fm = 2
        /// SB-CFM: Brownian-bridge noise σ√(t(1 − t)) on entropic-OT pairs (Sinkhorn, ε = 2σ²); σ > 0.
        case sbcfm = 3
        /// Trigonometric VP path: x_t = sin(πt/2) x1 + cos(πt/2) x0 + σε, independent coupling.
        case vp = 4

        public var name: String { ["icfm", "otcfm", "fm", "sbcfm", "vp"][Int(rawValue)] }
    }

    /// Everything that defines a model before training. Defaults follow the [SF]²M 2-D protocol.
    public struct Configuration: Sendable, Equatable {
        public var dim: Int
        public var method: Method = .otcfm
        public var sigma: Float = 0.1
        public var hiddenWidth: Int = 64
        public var hiddenLayers: Int = 3
        public var activation: ActivationKind = .selu
        public var learningRate: Float = 1e-3
        public var weightDecay: Float = 1e-5
        /// Global-norm clipping threshold; 0 = off.
        public var gradientClipNorm: Float = 0
        public var batchSize: Int = 256
        public var seed: UInt64 = 0

        public init(dim: Int) { self.dim = dim }

        /// A message naming the first invalid field, or nil.
        public var problem: String? {
            if dim < 1 || dim > 1 << 16 { return "dim must be in 1…65536, got \(dim)" }
            if !sigma.isFinite || sigma < 0 { return "sigma must be finite and ≥ 0, got \(sigma)" }
            if method == .sbcfm && !(sigma > 0) { return "SB-CFM needs sigma > 0" }
            if method == .fm && sigma >= 1 { return "FM needs sigma_min < 1, got \(sigma)" }
            if hiddenWidth < 1 || hiddenWidth > 1 << 16 { return "hidden width must be in 1…65536, got \(hiddenWidth)" }
            if hiddenLayers < 1 || hiddenLayers > 64 { return "hidden layers must be in 1…64, got \(hiddenLayers)" }
            if !learningRate.isFinite || learningRate <= 0 { return "learning rate must be finite and > 0, got \(learningRate)" }
            if !weightDecay.isFinite || weightDecay < 0 { return "weight decay must be finite and ≥ 0, got \(weightDecay)" }
            if !gradientClipNorm.isFinite || gradientClipNorm < 0 { return "grad clip norm must be finite and ≥ 0, got \(gradientClipNorm)" }
            if batchSize < 1 || batchSize > 1 << 20 { return "batch size must be in 1…1048576, got \(batchSize)" }
            if method == .sbcfm || method == .otcfm, batchSize > 4096 { return "OT couplings allow batch sizes up to 4096, got \(batchSize)" }
            return nil
        }
    }

    /// Why training stopped early (the steps before are kept).
    public typealias TrainingError = FlowOptim.TrainingError

    public let configuration: Configuration
    public let model: TimeConditionedMLP
    public let optimizer: AdamW
    /// Minibatch, time and noise generator (initialisation uses its own stream from the seed).
    public var rng: RandomGenerator
    /// False once trained on explicit source samples (`fit(target:source:)`); log-likelihoods assume N(0, I).
    public internal(set) var sourceIsStandardNormal = true

    public init(_ configuration: Configuration) {
        precondition(configuration.problem == nil, configuration.problem ?? "")
        self.configuration = configuration
        var initRNG = RandomGenerator(seed: configuration.seed)
        model = TimeConditionedMLP(dim: configuration.dim, hiddenWidth: configuration.hiddenWidth,
                                   hiddenLayers: configuration.hiddenLayers, activation: configuration.activation, rng: &initRNG)
        optimizer = AdamW(groups: [ParameterGroup(parameters: model.parameters, learningRate: configuration.learningRate,
                                                  weightDecay: configuration.weightDecay)])
        rng = RandomGenerator(seed: configuration.seed ^ 0xF10F_CF3D_0000_0001)
    }

    public var dim: Int { configuration.dim }
    /// Optimizer steps taken so far.
    public var step: Int { optimizer.stepCount }

    /// The probability path of the configured method.
    public var path: ProbabilityPath {
        let s = Double(configuration.sigma)
        switch configuration.method {
        case .icfm, .otcfm: return ProbabilityPath(scheduler: CondOTScheduler(), noise: s > 0 ? .constant(s) : .none)
        case .fm: return ProbabilityPath(scheduler: LipmanScheduler(sigmaMin: s))
        case .sbcfm: return ProbabilityPath(scheduler: CondOTScheduler(), noise: .brownianBridge(s))
        case .vp: return ProbabilityPath(scheduler: TrigonometricVPScheduler(), noise: s > 0 ? .constant(s) : .none)
        }
    }

    /// The coupling of the configured method.
    public var coupling: Coupling {
        switch configuration.method {
        case .icfm, .fm, .vp: return .independent
        case .otcfm: return .exactOT
        case .sbcfm: return .sinkhorn(epsilon: 2 * Double(configuration.sigma) * Double(configuration.sigma))
        }
    }

    /// `count` distinct rows of `data` (partial Fisher–Yates; all rows if count ≥ rows).
    private func sampleRows(_ data: Tensor, _ count: Int) -> Tensor {
        let rows = data.shape[0]
        if count >= rows { return selectRows(data, rng.permutation(rows)) }
        var chosen = [Int](repeating: 0, count: count)
        var swapped: [Int: Int] = [:]
        for i in 0..<count {
            let j = i + rng.nextInt(below: rows - i)
            let vj = swapped[j] ?? j, vi = swapped[i] ?? i
            chosen[i] = vj
            swapped[j] = vi
        }
        return selectRows(data, chosen)
    }

    /// One CFM loss on a batch (x0, x1) [b, d] (already drawn); returns the graph's loss.
    public func loss(x0: Tensor, x1: Tensor) -> Variable {
        let (p0, p1) = coupling.pair(x0, x1, rng: &rng)
        let b = p1.shape[0]
        var t = [Float](repeating: 0, count: b)
        for i in 0..<b { t[i] = rng.nextUniform() }
        let needsNoise = path.noise != .none
        let eps: Tensor? = needsNoise ? rng.normal(p1.shape) : nil
        let (xt, ut) = path.sample(x0: p0, x1: p1, t: t, eps: eps)
        return meanSquaredError(predicted: model(xt, times: t), expected: ut)
    }

    /// Trains for `steps` AdamW steps on target rows [n, dim]; each step draws `batchSize` distinct
    /// target rows and as many source points: N(0, I), or distinct rows of `source` [m, dim] when given.
    /// `progress(step, total, loss)` returns false to stop. A non-finite loss stops before the update.
    @discardableResult
    public func fit(target: Tensor, source: Tensor? = nil, steps: Int,
                    progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Float {
        precondition(target.rank == 2 && target.shape[1] == dim && target.shape[0] > 0, "target must be [n, \(dim)]")
        if let source { precondition(source.rank == 2 && source.shape[1] == dim && source.shape[0] > 0, "source must be [m, \(dim)]") }
        var last = Float.nan
        guard steps > 0 else { return last }
        if source != nil { sourceIsStandardNormal = false }
        let b = Swift.min(configuration.batchSize, target.shape[0], source?.shape[0] ?? Int.max)
        for s in 1...steps {
            let x1 = sampleRows(target, b)
            let x0 = source.map { sampleRows($0, b) } ?? rng.normal([b, dim])
            let l = loss(x0: x0, x1: x1)
            last = l.value.scalar
            guard last.isFinite else { throw TrainingError.numerical(step: step + 1, loss: last) }
            optimizer.clearGradients()
            l.backward()
            if configuration.gradientClipNorm > 0 { clipGradientNorm(model.parameters, maxNorm: configuration.gradientClipNorm) }
            optimizer.step()
            if let progress, !progress(s, steps, last) { throw TrainingError.cancelled(step: s) }
        }
        return last
    }

    /// Pushes source points x0 [n, dim] through the learned flow from t = 0 to t = 1 (or back, with
    /// `reverse`: data → source).
    public func transport(_ x0: Tensor, reverse: Bool = false, method: ODEMethod, options: ODEOptions = ODEOptions()) throws -> ODESolution {
        precondition(x0.rank == 2 && x0.shape[1] == dim, "x0 must be [n, \(dim)]")
        let m = model
        return try odeSolve({ x, t in m.velocity(x, t: t) }, x0: x0, from: reverse ? 1 : 0, to: reverse ? 0 : 1,
                            method: method, options: options)
    }

    /// n samples: x0 ~ N(0, I) from `seed`, transported to t = 1.
    public func sample(_ n: Int, seed: UInt64, method: ODEMethod, options: ODEOptions = ODEOptions()) throws -> ODESolution {
        var g = RandomGenerator(seed: seed)
        return try transport(g.normal([n, dim]), method: method, options: options)
    }

    /// log p(x) per row of x [n, dim] (N(0, I) source; see `logLikelihood(model:…)`).
    public func logLikelihood(_ x: Tensor, estimator: DivergenceEstimator, method: ODEMethod,
                              options: ODEOptions = ODEOptions(), seed: UInt64 = 0) throws -> (logp: [Float], nfe: Int) {
        try FlowMatching.logLikelihood(model: model, x: x, estimator: estimator, method: method, options: options, seed: seed)
    }
}
