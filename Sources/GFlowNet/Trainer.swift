import FlowTensor
import FlowAutodiff
import FlowNN
import FlowOptim
#if canImport(Glibc)
import Glibc
#endif

/// The training objective.
public enum GFlowNetObjective: UInt32, CaseIterable, Sendable {
    case trajectoryBalance = 0, detailedBalance = 1, subTrajectoryBalance = 2, flowMatching = 3,
         logPartitionVariance = 4, modifiedDetailedBalance = 5, forwardLookingDetailedBalance = 6,
         forwardLookingSubTrajectoryBalance = 7

    static let names = ["tb", "db", "subtb", "fm", "zvar", "moddb", "fldb", "flsubtb"]
    /// Short name ("tb", "db", "subtb", "fm", "zvar", "moddb", "fldb", "flsubtb").
    public var name: String { Self.names[Int(rawValue)] }
    /// Parses a short name.
    public init?(name: String) {
        guard let i = Self.names.firstIndex(of: name.lowercased()) else { return nil }
        self.init(rawValue: UInt32(i))
    }
    /// Whether the estimator needs a log F head (log F̃ for the forward-looking objectives).
    var needsLogFlow: Bool {
        [.detailedBalance, .subTrajectoryBalance, .forwardLookingDetailedBalance, .forwardLookingSubTrajectoryBalance].contains(self)
    }
}

/// Quality of a trained sampler measured exactly (no sampling noise) on an enumerable environment.
public struct GFlowNetMetrics: Equatable {
    /// Σ_x |P_T(x) − R(x)/Z|, TV = l1/2, Jensen–Shannon divergence.
    public var l1: Double, tv: Double, jsd: Double
    /// The model's log Z estimate (TB: the parameter; DB/SubTB: log F(s₀); FM: log Σ_a F(s₀, a);
    /// ZVar: −mean ζ of the last batch; FL-DB/FL-SubTB: log F̃(s₀) + log R(s₀); modified DB:
    /// log R(s₀) − log P_F(s_f|s₀)) and the true log Z.
    public var logZ: Double, logZTrue: Double
    /// Distinct mode cells among all training samples so far, and the number of mode cells.
    public var modesFound: Int, modeCount: Int
    /// Trajectories sampled for training so far.
    public var trajectories: Int
    /// Distinct mode regions (see `DiscreteEnvironment.modeRegion`) containing a found mode cell, and
    /// the number of mode regions.
    public var modeRegionsFound = 0, modeRegionCount = 0
    /// Pearson correlation of log P_T(x) (exact, floored at 1e-300) with log R(x) over the terminating
    /// states (NaN when either is constant).
    public var logRewardCorrelation = Double.nan
}

/// A GFlowNet with its estimator, log Z, Adam optimizer (separate log Z learning rate), sampling
/// generator and training counters. Everything needed to resume bit-for-bit is checkpointed.
public final class GFlowNetTrainer {
    /// Everything that defines a run before training.
    public struct Configuration: Equatable, Sendable {
        public var objective: GFlowNetObjective = .trajectoryBalance
        /// SubTB λ ∈ (0, 1].
        public var lambda: Float = 0.9
        public var batchSize = 16
        public var hiddenWidth = 256
        public var hiddenLayers = 2
        public var learningRate: Float = 1e-3
        public var logZLearningRate: Float = 0.1
        public var sampling = SamplingOptions()
        public var uniformBackward = false
        public var seed: UInt64 = 0
        /// Truncated rollouts: 0 = off; K > 0 = every training step advances each rollout by at most K
        /// transitions (see Trainer+Truncation.swift). Needs an objective that accepts incomplete
        /// trajectories (FL-DB, FL-SubTB).
        public var maxRolloutSteps = 0

        public init() {}

        /// A description of the first invalid field, or nil.
        public var problem: String? {
            if !(lambda > 0 && lambda <= 1) { return "lambda must be in (0, 1], got \(lambda)" }
            if batchSize < 1 || batchSize > 1 << 20 { return "batch size must be in 1…1048576, got \(batchSize)" }
            if hiddenWidth < 1 || hiddenWidth > 1 << 14 { return "hidden width must be in 1…16384, got \(hiddenWidth)" }
            if hiddenLayers < 1 || hiddenLayers > 64 { return "hidden layers must be in 1…64, got \(hiddenLayers)" }
            if !(learningRate.isFinite && learningRate > 0) { return "learning rate must be finite and > 0, got \(learningRate)" }
            if !(logZLearningRate.isFinite && logZLearningRate > 0) { return "log Z learning rate must be finite and > 0, got \(logZLearningRate)" }
            if !(sampling.epsilon >= 0 && sampling.epsilon <= 1) { return "epsilon must be in [0, 1], got \(sampling.epsilon)" }
            if !(sampling.temperature.isFinite && sampling.temperature > 0) { return "temperature must be finite and > 0, got \(sampling.temperature)" }
            if maxRolloutSteps < 0 || maxRolloutSteps > 1 << 20 { return "max rollout steps must be in 0…1048576, got \(maxRolloutSteps)" }
            return nil
        }
    }

    /// The run's configuration (only `maxRolloutSteps` can change after creation: `setMaxRolloutSteps`).
    public internal(set) var configuration: Configuration
    public let environment: DiscreteEnvironment
    public let estimator: PolicyEstimator
    /// log Z [1] (trained by TB; kept by every objective so checkpoints share one layout).
    public let logZ: Variable
    public let optimizer: Adam
    /// Training-sample generator (initialisation uses a separate stream derived from the seed).
    public var rng: RandomGenerator
    public private(set) var trajectoriesSeen = 0
    /// Indices of the mode states visited by training samples (enumerable environments).
    public private(set) var modesFound = Set<Int>()
    /// Loss of every optimizer step since creation or loading.
    public private(set) var lossHistory: [Float] = []
    /// ZVar's log Z estimate (−mean ζ) of the last batch.
    public private(set) var lastLogZEstimate = 0.0
    /// Optional replay buffer mixed into every training batch (see `ReplayBuffer`; kept in checkpoints).
    public var replay: ReplayBuffer?
    /// Truncated rollouts still running (continued by the next training step; checkpointed).
    var inFlight = RolloutsInFlight()
    private var cachedDAG: EnumeratedDAG?
    private var cachedTarget: (probabilities: [Double], logZ: Double)?

    /// Preconditions: `configuration.problem == nil` (the C layer checks it first).
    public init(environment: DiscreteEnvironment, configuration: Configuration) {
        precondition(configuration.problem == nil, configuration.problem ?? "")
        precondition(Self.compatibilityProblem(environment: environment, configuration: configuration) == nil,
                     Self.compatibilityProblem(environment: environment, configuration: configuration) ?? "")
        self.configuration = configuration
        self.environment = environment
        var initRNG = RandomGenerator(seed: configuration.seed)
        estimator = PolicyEstimator(inputDimension: environment.encodingDimension, actionCount: environment.actionCount,
                                    hiddenWidth: configuration.hiddenWidth, hiddenLayers: configuration.hiddenLayers,
                                    uniformBackward: configuration.uniformBackward || configuration.objective == .flowMatching,
                                    logFlowHead: configuration.objective.needsLogFlow, rng: &initRNG)
        logZ = Variable(Tensor(zeros: [1]), requiresGrad: true)
        optimizer = Adam(groups: [
            ParameterGroup(parameters: estimator.parameters, learningRate: configuration.learningRate),
            ParameterGroup(parameters: [logZ], learningRate: configuration.logZLearningRate),
        ])
        rng = RandomGenerator(seed: configuration.seed ^ 0x6F1F_0E7B_A7C4_5EED)
    }

    /// Optimizer steps taken so far.
    public var step: Int { optimizer.stepCount }

    /// Why a run would need too much memory (nil when it fits): the visited rows of one batch
    /// (batch × max length) times the per-row floats (encoding, activations) must stay ≤ 2^30, and SubTB's
    /// [T+1, T+1, B] residual tensor ≤ 2^27 elements.
    public static func resourceProblem(environment env: DiscreteEnvironment, configuration c: Configuration) -> String? {
        let rows = c.batchSize.multipliedReportingOverflow(by: env.maxTrajectoryLength)
        let perRow = env.encodingDimension + 2 * c.hiddenWidth * c.hiddenLayers + env.stateDimension + 4 * env.actionCount
        let total = rows.partialValue.multipliedReportingOverflow(by: perRow)
        if rows.overflow || total.overflow || total.partialValue > 1 << 30 {
            return "one batch would hold \(c.batchSize) × \(env.maxTrajectoryLength) states × \(perRow) floats (limit 2^30); use a smaller batch, network or grid"
        }
        if c.objective == .subTrajectoryBalance || c.objective == .forwardLookingSubTrajectoryBalance {
            let t = env.maxTrajectoryLength + 1
            if t > 1 << 20 || t * t * c.batchSize > 1 << 27 {
                return "SubTB needs (max length + 1)² × batch = \(t)² × \(c.batchSize) ≤ 2^27 elements; use TB/DB or a smaller grid or batch"
            }
        }
        return nil
    }

    /// Rows per forward pass when evaluating many states (keeps each pass ≲ 2^24 floats).
    var evaluationChunk: Int {
        Swift.max(1, Swift.min(4096, (1 << 24) / Swift.max(1, environment.encodingDimension + 2 * configuration.hiddenWidth)))
    }

    /// The loss of one batch (differentiable), with the batch it was computed on.
    public func loss(of batch: TrajectoryBatch, recorded: Variable?) -> Variable {
        let env = environment
        switch configuration.objective {
        case .flowMatching:
            return flowMatchingBatchLoss(batch)
        case .trajectoryBalance:
            return trajectoryBalanceLoss(estimator.logProbabilities(of: batch, environment: env, recorded: recorded), logZ: logZ)
        case .detailedBalance:
            return detailedBalanceLoss(estimator.logProbabilities(of: batch, environment: env, recorded: recorded))
        case .subTrajectoryBalance:
            return subTrajectoryBalanceLoss(estimator.logProbabilities(of: batch, environment: env, recorded: recorded),
                                            lambda: configuration.lambda)
        case .logPartitionVariance:
            let lp = estimator.logProbabilities(of: batch, environment: env, recorded: recorded)
            let zeta = lp.logRatio().value.scalars
            var mean = 0.0
            for (z, r) in zip(zeta, batch.logRewards) { mean += Double(z) - r }
            lastLogZEstimate = -mean / Double(Swift.max(zeta.count, 1))
            return logPartitionVarianceLoss(lp)
        case .modifiedDetailedBalance, .forwardLookingDetailedBalance, .forwardLookingSubTrajectoryBalance:
            // A failing reward gives a NaN loss here; trainStep uses the throwing `stateRewardLoss`.
            return (try? stateRewardLoss(of: batch, recorded: recorded)) ?? Variable(Tensor(Float.nan))
        }
    }

    /// FM on the batch's visited states: in-flows from every parent, out-flows incl. exit, and exit
    /// flows against log R at the terminal states (one forward pass over states and parents).
    func flowMatchingBatchLoss(_ batch: TrajectoryBatch) -> Variable {
        let env = environment, a = env.actionCount, dim = env.stateDimension
        let rows = batch.rows
        let nonInitial = (0..<rows.count).filter { rows.previousActions[$0] >= 0 }
        let terminalRows = (0..<rows.count).filter { rows.actions[$0] == a - 1 }
        let niStates = nonInitial.flatMap { r in rows.states[(r * dim)..<((r + 1) * dim)] }
        let bmask = env.backwardMask(niStates, count: nonInitial.count)
        var parentStates: [Int32] = [], parentEdge: [Int] = [], parentSlot: [Int] = []
        for (m, r) in nonInitial.enumerated() {
            for d in 0..<(a - 1) where bmask[m * (a - 1) + d] {
                parentStates += env.backwardStep(Array(rows.states[(r * dim)..<((r + 1) * dim)]), actions: [d], count: 1)
                parentEdge.append(d)
                parentSlot.append(m * (a - 1) + d)
            }
        }
        let np = parentEdge.count
        let all = rows.states + parentStates
        let output = estimator(Variable(env.encodedTensor(all, count: rows.count + np)))
        let logits = output.slice(axis: 1, start: 0, end: a)
        let fmaskRows = env.forwardMask(rows.states, count: rows.count)
        let m = nonInitial.count
        let outflow = logits.indexSelect(axis: 0, indices: nonInitial)
        let outMask = nonInitial.flatMap { r in fmaskRows[(r * a)..<((r + 1) * a)] }
        var inflow = Variable(Tensor(zeros: [m, a - 1]))
        if np > 0 {
            let parentValues = logits.indexSelect(axis: 0, indices: (0..<np).map { rows.count + $0 })
                .gather(axis: 1, indices: parentEdge, shape: [np, 1]).reshaped([np])
            inflow = parentValues.scatterAdd(rowsInto: m * (a - 1), indices: parentSlot).reshaped([m, a - 1])
        }
        let exitValues = logits.indexSelect(axis: 0, indices: terminalRows)
            .gather(axis: 1, indices: [Int](repeating: a - 1, count: terminalRows.count), shape: [terminalRows.count, 1])
            .reshaped([terminalRows.count])
        let terminalLogR = terminalRows.map { Float(batch.logRewards[rows.trajectories[$0]]) }
        return flowMatchingLoss(inflow: inflow, inflowMask: bmask, outflow: outflow, outflowMask: outMask,
                                exitLogFlows: exitValues, logRewards: Tensor(shape: [terminalRows.count], scalars: terminalLogR))
    }

    /// One optimizer step on a fresh batch. On any error nothing changes (parameters, optimizer,
    /// generator and counters are as before). Returns the loss.
    @discardableResult
    public func trainStep() throws -> Float {
        let savedRNG = rng, savedEstimate = lastLogZEstimate, savedReplay = replay?.contents
        let onPolicy = configuration.sampling.isOnPolicy && configuration.objective != .flowMatching
        do {
            var nextInFlight = inFlight
            let (batch, recorded) = configuration.maxRolloutSteps > 0
                ? try sampleTruncatedBatch(onPolicy: onPolicy, inFlight: &nextInFlight)
                : try sampleTrainingBatch(onPolicy: onPolicy)
            var newModes: [Int] = []
            if environment.enumeratedStateCount != nil {
                let modes = try environment.isMode(batch.terminalStates, count: batch.batchSize)
                let idx = environment.stateIndex(batch.terminalStates, count: batch.batchSize)
                for i in 0..<batch.batchSize where modes[i] && batch.complete?[i] ?? true { newModes.append(idx[i]) }
            }
            let lossValue = configuration.objective.needsStateRewards
                ? try stateRewardLoss(of: batch, recorded: recorded) : loss(of: batch, recorded: recorded)
            let l = lossValue.value.scalar
            try environment.throwIfFailed()
            guard l.isFinite else { throw GFlowNetError.numerical(step: step + 1, loss: l) }
            // Nothing below can fail: the step is applied as a whole.
            optimizer.clearGradients()
            lossValue.backward()
            optimizer.step()
            inFlight = nextInFlight
            trajectoriesSeen += batch.completeCount
            lossHistory.append(l)
            modesFound.formUnion(newModes)
            return l
        } catch {
            rng = savedRNG
            lastLogZEstimate = savedEstimate
            if let savedReplay { replay?.contents = savedReplay }
            try environment.throwIfFailed()   // a recorded callback failure explains the error best
            throw error
        }
    }

    /// Trains on `trajectories` new trajectories (⌈trajectories / batch⌉ steps). `progress(step, total,
    /// loss)` returns false to stop (throws `.cancelled`, keeping the steps done). Returns the last loss.
    @discardableResult
    /// With truncated rollouts a step completes fewer trajectories: it steps until `trajectories` more
    /// trajectories have been completed (the reported total is then an estimate, never below the step).
    public func train(trajectories: Int, progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Float {
        let b = configuration.batchSize
        let steps = (trajectories + b - 1) / b
        var last = Float.nan
        if configuration.maxRolloutSteps > 0 {
            let k = configuration.maxRolloutSteps
            let estimate = steps * ((environment.maxTrajectoryLength + k - 1) / k)
            let target = trajectoriesSeen + trajectories
            var s = 0
            while trajectoriesSeen < target {
                last = try trainStep()
                s += 1
                if let progress, !progress(s, Swift.max(s, estimate), last) { throw GFlowNetError.cancelled(step: s) }
            }
            return last
        }
        for s in 0..<steps {
            last = try trainStep()
            if let progress, !progress(s + 1, steps, last) { throw GFlowNetError.cancelled(step: s + 1) }
        }
        return last
    }

    /// `k` terminal objects `[k, stateDimension]` drawn from the learned policy (no exploration) with a
    /// generator seeded by `seed` (the training generator is untouched).
    public func sample(_ k: Int, seed: UInt64) throws -> [Int32] {
        var local = RandomGenerator(seed: seed)
        var out: [Int32] = []
        out.reserveCapacity(k * environment.stateDimension)
        var remaining = k
        // Trajectories per chunk so that one chunk's visited rows stay ≲ 2^24 floats.
        let perTrajectory = environment.maxTrajectoryLength * (environment.encodingDimension + 2 * configuration.hiddenWidth)
        let chunk = Swift.max(1, Swift.min(4096, (1 << 24) / Swift.max(1, perTrajectory)))
        while remaining > 0 {
            let n = Swift.min(remaining, chunk)
            let (batch, _) = try estimator.sampleTrajectories(environment: environment, batchSize: n, options: SamplingOptions(),
                                                              rng: &local, recordGraph: false)
            out += batch.terminalStates
            remaining -= n
        }
        try environment.throwIfFailed()
        return out
    }

    /// The enumerated DAG (cached).
    public func dag() throws -> EnumeratedDAG {
        if let cachedDAG { return cachedDAG }
        let d = try EnumeratedDAG(environment)
        cachedDAG = d
        return d
    }

    /// R(x)/Z over all states (`stateIndex` order) and the true log Z (cached).
    public func target() throws -> (probabilities: [Double], logZ: Double) {
        if let cachedTarget { return cachedTarget }
        let t = try targetDistribution(environment, dag: try dag())
        cachedTarget = t
        return t
    }

    /// Masked forward probabilities P_F(a|s) `[n, A]` and the raw outputs for states `[n, dim]`.
    func forwardProbabilities(_ states: [Int32], count n: Int) -> (probabilities: [Double], output: Tensor) {
        let a = environment.actionCount
        let output = withoutGradients { estimator(Variable(environment.encodedTensor(states, count: n))).value }
        let mask = environment.forwardMask(states, count: n)
        let width = output.shape[1]
        var p = [Double](repeating: 0, count: n * a)
        output.withUnsafeBufferPointer { o in
            for r in 0..<n {
                var m = -Double.infinity
                for j in 0..<a where mask[r * a + j] { m = Swift.max(m, Double(o[r * width + j])) }
                var total = 0.0
                for j in 0..<a where mask[r * a + j] { p[r * a + j] = exp(Double(o[r * width + j]) - m); total += p[r * a + j] }
                for j in 0..<a { p[r * a + j] /= total }
            }
        }
        return (p, output)
    }

    /// Exact P_T of the current policy over all states (`stateIndex` order), by DP over the DAG.
    public func exactDistribution() throws -> [Double] {
        let d = try dag()
        let a = environment.actionCount, dim = environment.stateDimension
        var p = [Double]()
        p.reserveCapacity(d.stateCount * a)
        var start = 0
        while start < d.stateCount {
            let n = Swift.min(evaluationChunk, d.stateCount - start)
            p += forwardProbabilities(Array(d.states[(start * dim)..<((start + n) * dim)]), count: n).probabilities
            start += n
        }
        try environment.throwIfFailed()
        return exactTerminatingDistribution(dag: d, forwardProbabilities: p)
    }

    /// The model's current log Z estimate (see `GFlowNetMetrics.logZ`).
    public func estimatedLogZ() -> Double {
        switch configuration.objective {
        case .trajectoryBalance: return Double(logZ.value.scalars[0])
        case .logPartitionVariance: return lastLogZEstimate
        case .detailedBalance, .subTrajectoryBalance, .flowMatching:
            let s0 = environment.initialState
            let (_, output) = forwardProbabilities(s0, count: 1)
            let row = output.scalars
            if configuration.objective == .flowMatching {
                let mask = environment.forwardMask(s0, count: 1)
                var m = -Double.infinity
                for j in 0..<environment.actionCount where mask[j] { m = Swift.max(m, Double(row[j])) }
                var total = 0.0
                for j in 0..<environment.actionCount where mask[j] { total += exp(Double(row[j]) - m) }
                return m + log(total)
            }
            return Double(row[estimator.logFlowColumn!])
        case .modifiedDetailedBalance, .forwardLookingDetailedBalance, .forwardLookingSubTrajectoryBalance:
            return stateRewardLogZEstimate()
        }
    }

    /// Exact metrics (needs an enumerable environment).
    public func metrics() throws -> GFlowNetMetrics {
        let (target, logZTrue) = try target()
        let learned = try exactDistribution()
        let dist = DistributionDistances(learned: learned, target: target)
        let d = try dag()
        let modeCount = try environment.isMode(d.states, count: d.stateCount).filter { $0 }.count
        var m = GFlowNetMetrics(l1: dist.l1, tv: dist.tv, jsd: dist.jsd, logZ: estimatedLogZ(), logZTrue: logZTrue,
                                modesFound: modesFound.count, modeCount: modeCount, trajectories: trajectoriesSeen)
        try addModeRegionsAndCorrelation(&m, dag: d, learned: learned)
        try environment.throwIfFailed()
        return m
    }

    /// Restores counters (used by checkpoint loading).
    func restoreCounters(trajectories: Int, modes: Set<Int>, logZEstimate: Double) {
        trajectoriesSeen = trajectories
        modesFound = modes
        lastLogZEstimate = logZEstimate
    }
}
