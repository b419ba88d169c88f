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
        /// Score-SDE VP path with a linear β schedule (`BetaVPScheduler(betaMin, betaMax)`) + σε,
        /// independent coupling. Gaussian source.
        case vpBeta = 5

        public var name: String { ["icfm", "otcfm", "fm", "sbcfm", "vp", "vp-beta"][Int(rawValue)] }
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
        /// Classes of the conditioning label (0 = unconditional). With classes, training needs one label
        /// per target row, OT-CFM pairs only within classes, and sampling may use guidance.
        public var numClasses: Int = 0
        /// Probability that a training label is replaced by "no label" (trains the unconditional branch
        /// used by classifier-free guidance).
        public var labelDropout: Float = 0.1
        /// β schedule of `.vpBeta` (β_min < β_max).
        public var betaMin: Float = 0.1
        public var betaMax: Float = 20

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
            if numClasses < 0 || numClasses > 1 << 16 { return "num classes must be in 0…65536, got \(numClasses)" }
            if numClasses > 0 && method == .sbcfm { return "class conditioning is not supported with SB-CFM" }
            if !labelDropout.isFinite || labelDropout < 0 || labelDropout > 1 { return "label dropout must be in [0, 1], got \(labelDropout)" }
            if !betaMin.isFinite || !betaMax.isFinite || betaMin < 0 || betaMax <= betaMin || betaMax > 1000 {
                return "beta schedule needs 0 ≤ beta_min < beta_max ≤ 1000, got \(betaMin), \(betaMax)"
            }
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
    /// Identity permutation reused by `sampleIndices` (see there).
    private var shuffleScratch: [Int] = []
    /// Matrices of the exact OT coupling, reused from step to step.
    private let otWorkspace = ExactOTWorkspace()

    public init(_ configuration: Configuration) {
        precondition(configuration.problem == nil, configuration.problem ?? "")
        self.configuration = configuration
        var initRNG = RandomGenerator(seed: configuration.seed)
        model = TimeConditionedMLP(dim: configuration.dim, hiddenWidth: configuration.hiddenWidth,
                                   hiddenLayers: configuration.hiddenLayers, activation: configuration.activation,
                                   classes: configuration.numClasses, rng: &initRNG)
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
        case .vpBeta:
            return ProbabilityPath(scheduler: BetaVPScheduler(betaMin: Double(configuration.betaMin), betaMax: Double(configuration.betaMax)),
                                   noise: s > 0 ? .constant(s) : .none)
        }
    }

    /// The coupling of the configured method.
    public var coupling: Coupling {
        switch configuration.method {
        case .icfm, .fm, .vp, .vpBeta: return .independent
        case .otcfm: return .exactOT
        case .sbcfm: return .sinkhorn(epsilon: 2 * Double(configuration.sigma) * Double(configuration.sigma))
        }
    }

    /// `count` distinct row indices of a `rows`-row array (partial Fisher–Yates; a permutation of all
    /// rows if count ≥ rows).
    /// The virtual array of the partial shuffle lives in `shuffleScratch` (kept equal to the identity
    /// between calls: the touched entries are reset afterwards), so a draw costs O(count).
    private func sampleIndices(_ rows: Int, _ count: Int) -> [Int] {
        if count >= rows { return rng.permutation(rows) }
        if shuffleScratch.count < rows { shuffleScratch = Array(0..<rows) }
        var chosen = [Int](repeating: 0, count: count), touched = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let j = i + rng.nextInt(below: rows - i)
            chosen[i] = shuffleScratch[j]
            shuffleScratch[j] = shuffleScratch[i]
            touched[i] = j
        }
        for j in touched { shuffleScratch[j] = j }
        return chosen
    }

    /// One CFM loss on a batch (x0, x1) [b, d] (already drawn); returns the graph's loss. `labels`
    /// (one per x1 row, class-conditional models only) are kept with x1; OT-CFM then pairs within
    /// classes, and label dropout replaces each by "no label" with probability `labelDropout`.
    public func loss(x0: Tensor, x1: Tensor, labels: [Int32]? = nil) -> Variable {
        precondition((labels != nil) == (configuration.numClasses > 0), "labels are needed exactly for class-conditional models")
        let p0: Tensor, p1: Tensor
        if let labels, coupling == .exactOT {
            // Source rows take the labels of the target rows, so the class counts match.
            let perm = classAwareOTPermutation(x0, labels0: labels, x1, labels1: labels, workspace: otWorkspace)!
            (p0, p1) = (selectRows(x0, perm), x1)
        } else {
            (p0, p1) = coupling.pair(x0, x1, rng: &rng, workspace: otWorkspace)
        }
        let b = p1.shape[0]
        var t = [Float](repeating: 0, count: b)
        for i in 0..<b { t[i] = rng.nextUniform() }
        let needsNoise = path.noise != .none
        let eps: Tensor? = needsNoise ? rng.normal(p1.shape) : nil
        let (xt, ut) = path.sample(x0: p0, x1: p1, t: t, eps: eps)
        var kept = labels
        if var l = kept {
            let p = configuration.labelDropout
            for i in l.indices where rng.nextUniform() < p { l[i] = -1 }
            kept = l
        }
        return meanSquaredError(predicted: model(xt, times: t, labels: kept), expected: ut)
    }

    /// A training batch supplied by `fit(steps:sampler:)`'s sampler failed.
    public struct SamplerError: Error, CustomStringConvertible {
        public let message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// Trains for `steps` AdamW steps on target rows [n, dim]; each step draws `batchSize` distinct
    /// target rows and as many source points: N(0, I), or distinct rows of `source` [m, dim] when given.
    /// Class-conditional models need `labels` (one per target row, in 0 ..< numClasses).
    /// `progress(step, total, loss)` returns false to stop. A non-finite loss stops before the update.
    @discardableResult
    public func fit(target: Tensor, labels: [Int32]? = nil, source: Tensor? = nil, steps: Int,
                    progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Float {
        precondition(target.rank == 2 && target.shape[1] == dim && target.shape[0] > 0, "target must be [n, \(dim)]")
        if let source { precondition(source.rank == 2 && source.shape[1] == dim && source.shape[0] > 0, "source must be [m, \(dim)]") }
        precondition((labels != nil) == (configuration.numClasses > 0), "labels are needed exactly for class-conditional models")
        if let labels {
            precondition(labels.count == target.shape[0] && labels.allSatisfy { $0 >= 0 && Int($0) < configuration.numClasses },
                         "one label in 0..<\(configuration.numClasses) per target row")
        }
        guard steps > 0 else { return .nan }
        if source != nil { sourceIsStandardNormal = false }
        let b = Swift.min(configuration.batchSize, target.shape[0], source?.shape[0] ?? Int.max)
        return try train(steps: steps, progress: progress) {
            let rows = self.sampleIndices(target.shape[0], b)
            let x1 = selectRows(target, rows)
            let x0 = source.map { selectRows($0, self.sampleIndices($0.shape[0], b)) } ?? self.rng.normal([b, self.dim])
            return (x0, x1, labels.map { l in rows.map { l[$0] } })
        }
    }

    /// Trains for `steps` steps on target batches produced by `sampler(rows)` (a [rows, dim] tensor of
    /// finite values, rows = batchSize; unconditional models only) against N(0, I) source points. If the
    /// sampler throws or returns a wrong shape or non-finite values, every change made by this call is
    /// undone (weights, optimizer state, step count, generator) and a `SamplerError` is thrown.
    @discardableResult
    public func fit(steps: Int, sampler: (Int) throws -> Tensor, progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Float {
        precondition(configuration.numClasses == 0, "a sampler feeds unconditional models only")
        guard steps > 0 else { return .nan }
        let b = configuration.batchSize
        let weights = model.stateDict(), moments = optimizer.stateTensors(), savedStep = optimizer.stepCount
        let savedRNG = rng, savedSource = sourceIsStandardNormal
        do {
            return try train(steps: steps, progress: progress) {
                let x1 = try sampler(b)
                guard x1.shape == [b, self.dim] else {
                    throw SamplerError("the sampler returned shape \(x1.shape), expected [\(b), \(self.dim)]")
                }
                guard x1.isFinite else { throw SamplerError("the sampler returned NaN or infinite values") }
                return (self.rng.normal([b, self.dim]), x1, nil)
            }
        } catch let error as SamplerError {
            try? model.loadStateDict(weights)
            _ = optimizer.loadStateTensors(moments, stepCount: savedStep)
            rng = savedRNG
            sourceIsStandardNormal = savedSource
            throw error
        }
    }

    /// The optimisation loop shared by the `fit` variants: `batch()` gives (x0, x1, labels).
    private func train(steps: Int, progress: ((Int, Int, Float) -> Bool)?,
                       batch: () throws -> (Tensor, Tensor, [Int32]?)) throws -> Float {
        try optimize(steps: steps, progress: progress) {
            let (x0, x1, labels) = try batch()
            return self.loss(x0: x0, x1: x1, labels: labels)
        }
    }

    /// `steps` AdamW steps on the losses `lossOfNextBatch()` builds (clipping as configured); a non-finite loss
    /// stops before its update; `progress(step, total, loss)` returns false to stop. Returns the last loss.
    func optimize(steps: Int, progress: ((Int, Int, Float) -> Bool)?, lossOfNextBatch: () throws -> Variable) throws -> Float {
        var last = Float.nan
        for s in 1...steps {
            let l = try lossOfNextBatch()
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
    /// Class-conditional models: `labels` (one per row, −1 = no label) select the conditional field;
    /// `guidance` (weight, convention) applies classifier-free guidance to the labelled rows.
    public func transport(_ x0: Tensor, reverse: Bool = false, labels: [Int32]? = nil,
                          guidance: (weight: Float, convention: GuidanceConvention)? = nil,
                          method: ODEMethod, options: ODEOptions = ODEOptions()) throws -> ODESolution {
        precondition(x0.rank == 2 && x0.shape[1] == dim, "x0 must be [n, \(dim)]")
        if let labels {
            precondition(labels.count == x0.shape[0] && labels.allSatisfy { $0 >= -1 && Int($0) < configuration.numClasses },
                         "one label in -1..<\(configuration.numClasses) per row")
        }
        let m = model
        let field: (Tensor, Double) -> Tensor
        if let labels, let guidance {
            field = { x, t in m.guidedVelocity(x, t: t, labels: labels, weight: guidance.weight, convention: guidance.convention) }
        } else {
            field = { x, t in m.velocity(x, t: t, labels: labels) }
        }
        return try odeSolve(field, x0: x0, from: reverse ? 1 : 0, to: reverse ? 0 : 1, method: method, options: options)
    }

    /// n samples: x0 ~ N(0, I) from `seed`, transported to t = 1 (optionally per-row labels and
    /// classifier-free guidance, as `transport`).
    public func sample(_ n: Int, seed: UInt64, labels: [Int32]? = nil,
                       guidance: (weight: Float, convention: GuidanceConvention)? = nil,
                       method: ODEMethod, options: ODEOptions = ODEOptions()) throws -> ODESolution {
        var g = RandomGenerator(seed: seed)
        return try transport(g.normal([n, dim]), labels: labels, guidance: guidance, method: method, options: options)
    }

    /// log p(x) per row of x [n, dim] (N(0, I) source; see `logLikelihood(model:…)`).
    public func logLikelihood(_ x: Tensor, estimator: DivergenceEstimator, method: ODEMethod,
                              options: ODEOptions = ODEOptions(), seed: UInt64 = 0) throws -> (logp: [Float], nfe: Int) {
        try FlowMatching.logLikelihood(model: model, x: x, estimator: estimator, method: method, options: options, seed: seed)
    }
}
