import FlowTensor
import FlowAutodiff
import FlowNN
import FlowOptim
#if canImport(Glibc)
import Glibc
#endif

/// A base environment whose states carry one extra entry: the slot of the trajectory's condition
/// vector in `conditions` (`[slots, conditionDimension]`). The encoding is the base encoding followed by
/// the condition; the reward is R(x | c). Enumeration lists the base states with slot 0.
public final class ConditionedEnvironment: DiscreteEnvironment {
    public let base: DiscreteEnvironment
    public let conditionDimension: Int
    /// Condition table read through each state's slot.
    public var conditions: [Float] = []
    /// log R(x | c): (base states `[n, dim]`, their conditions `[n, conditionDimension]`, n) → `[n]`.
    public let logRewardFunction: ([Int32], [Float], Int) throws -> [Double]

    public init(base: DiscreteEnvironment, conditionDimension: Int,
                logReward: @escaping ([Int32], [Float], Int) throws -> [Double]) {
        precondition(conditionDimension >= 1)
        self.base = base; self.conditionDimension = conditionDimension; self.logRewardFunction = logReward
    }

    public var stateDimension: Int { base.stateDimension + 1 }
    public var actionCount: Int { base.actionCount }
    public var encodingDimension: Int { base.encodingDimension + conditionDimension }
    public var maxTrajectoryLength: Int { base.maxTrajectoryLength }
    public var initialState: [Int32] { base.initialState + [0] }

    /// States `[n, dim + 1]` → (base states `[n, dim]`, slots `[n]`).
    func split(_ states: [Int32], _ n: Int) -> ([Int32], [Int]) {
        let d = base.stateDimension
        var core = [Int32](), slots = [Int]()
        core.reserveCapacity(n * d); slots.reserveCapacity(n)
        for i in 0..<n {
            core += states[(i * (d + 1))..<(i * (d + 1) + d)]
            slots.append(Int(states[i * (d + 1) + d]))
        }
        return (core, slots)
    }

    func join(_ core: [Int32], _ slots: [Int]) -> [Int32] {
        let d = base.stateDimension
        var out = [Int32]()
        out.reserveCapacity(slots.count * (d + 1))
        for (i, s) in slots.enumerated() { out += core[(i * d)..<((i + 1) * d)]; out.append(Int32(s)) }
        return out
    }

    public func forwardMask(_ states: [Int32], count: Int) -> [Bool] { base.forwardMask(split(states, count).0, count: count) }
    public func backwardMask(_ states: [Int32], count: Int) -> [Bool] { base.backwardMask(split(states, count).0, count: count) }
    public func step(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        let (core, slots) = split(states, count)
        return join(base.step(core, actions: actions, count: count), slots)
    }
    public func backwardStep(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        let (core, slots) = split(states, count)
        return join(base.backwardStep(core, actions: actions, count: count), slots)
    }

    func conditionRows(_ slots: [Int]) -> [Float] {
        let c = conditionDimension
        return slots.flatMap { s in conditions[(s * c)..<((s + 1) * c)] }
    }

    public func logReward(_ states: [Int32], count: Int) throws -> [Double] {
        let (core, slots) = split(states, count)
        let values = try logRewardFunction(core, conditionRows(slots), count)
        guard values.count == count else {
            throw GFlowNetError.callback("the log reward function returned \(values.count) values for \(count) states")
        }
        for (i, v) in values.enumerated() where !v.isFinite {
            throw GFlowNetError.invalidReward("log reward of state \(Array(core[(i * base.stateDimension)..<((i + 1) * base.stateDimension)])) is \(v) (rewards must be finite and positive)")
        }
        return values
    }

    public func encode(_ states: [Int32], count: Int, into destination: UnsafeMutablePointer<Float>) {
        let (core, slots) = split(states, count)
        let width = base.encodingDimension, c = conditionDimension
        let inner = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count * width, 1))
        defer { inner.deallocate() }
        base.encode(core, count: count, into: inner)
        for i in 0..<count {
            (destination + i * (width + c)).update(from: inner + i * width, count: width)
            for j in 0..<c { destination[i * (width + c) + width + j] = conditions[slots[i] * c + j] }
        }
    }

    public var enumeratedStateCount: Int? { base.enumeratedStateCount }
    public func allStates() -> [Int32] {
        let n = base.enumeratedStateCount ?? 0
        return join(base.allStates(), [Int](repeating: 0, count: n))
    }
    public func stateIndex(_ states: [Int32], count: Int) -> [Int] { base.stateIndex(split(states, count).0, count: count) }
    public func isMode(_ states: [Int32], count: Int) throws -> [Bool] { [Bool](repeating: false, count: count) }
    public func throwIfFailed() throws { try base.throwIfFailed() }
}

/// A conditional GFlowNet: the policy sees the encoding of s followed by a condition vector c, and
/// learns to sample x with probability R(x | c)/Z(c); log Z(c) is a small MLP of c (TB). Objectives:
/// TB (conditional log Z), DB and SubTB (the log F head sees c), ZVar.
public final class ConditionalGFlowNet {
    public let configuration: GFlowNetTrainer.Configuration
    public let environment: ConditionedEnvironment
    public let estimator: PolicyEstimator
    /// log Z(c): condition → 1, one hidden layer of `logZHiddenWidth` ReLU units.
    public let logZNetwork: MLP
    public let optimizer: Adam
    public var rng: RandomGenerator
    public internal(set) var trajectoriesSeen = 0
    public private(set) var lossHistory: [Float] = []

    /// The objectives a conditional trainer supports (FM and the objectives that need per-state rewards
    /// of the base environment are not conditioned here).
    public static let supportedObjectives: Set<GFlowNetObjective> =
        [.trajectoryBalance, .detailedBalance, .subTrajectoryBalance, .logPartitionVariance]

    /// Preconditions: `configuration.problem == nil`, objective in `supportedObjectives`, no truncated
    /// rollouts (`maxRolloutSteps` = 0).
    public init(base: DiscreteEnvironment, conditionDimension: Int, configuration: GFlowNetTrainer.Configuration,
                logZHiddenWidth: Int = 32, logReward: @escaping ([Int32], [Float], Int) throws -> [Double]) {
        precondition(configuration.problem == nil && Self.supportedObjectives.contains(configuration.objective)
                     && configuration.maxRolloutSteps == 0)
        self.configuration = configuration
        environment = ConditionedEnvironment(base: base, conditionDimension: conditionDimension, logReward: logReward)
        var initRNG = RandomGenerator(seed: configuration.seed)
        estimator = PolicyEstimator(inputDimension: environment.encodingDimension, actionCount: environment.actionCount,
                                    hiddenWidth: configuration.hiddenWidth, hiddenLayers: configuration.hiddenLayers,
                                    uniformBackward: configuration.uniformBackward,
                                    logFlowHead: configuration.objective == .detailedBalance || configuration.objective == .subTrajectoryBalance,
                                    rng: &initRNG)
        logZNetwork = MLP(widths: [conditionDimension, logZHiddenWidth, 1], rng: &initRNG)
        optimizer = Adam(groups: [
            ParameterGroup(parameters: estimator.parameters, learningRate: configuration.learningRate),
            ParameterGroup(parameters: logZNetwork.parameters, learningRate: configuration.logZLearningRate),
        ])
        rng = RandomGenerator(seed: configuration.seed ^ 0x6F1F_0E7B_A7C4_5EED)
    }

    public var step: Int { optimizer.stepCount }

    /// log Z(c) for conditions `[n, conditionDimension]` → `[n]`.
    public func logZ(_ conditions: [Float]) -> [Float] {
        let n = conditions.count / environment.conditionDimension
        return withoutGradients { logZNetwork(Variable(Tensor(shape: [n, environment.conditionDimension], scalars: conditions))).value.scalars }
    }

    func initialStates(_ b: Int) -> [Int32] {
        let s0 = environment.base.initialState
        return (0..<b).flatMap { s0 + [Int32($0)] }
    }

    /// One optimizer step on `batchSize` trajectories whose conditions are drawn uniformly from
    /// `conditionSet` `[m, conditionDimension]`. On any error nothing changes.
    @discardableResult
    public func trainStep(conditionSet: [Float]) throws -> Float {
        let c = environment.conditionDimension, m = conditionSet.count / c, b = configuration.batchSize
        precondition(m >= 1 && conditionSet.count == m * c)
        let savedRNG = rng
        do {
            var chosen = [Float]()
            chosen.reserveCapacity(b * c)
            for _ in 0..<b {
                let j = Swift.min(m - 1, Int(rng.nextUniformDouble() * Double(m)))
                chosen += conditionSet[(j * c)..<((j + 1) * c)]
            }
            environment.conditions = chosen
            let onPolicy = configuration.sampling.isOnPolicy
            let (batch, recorded) = try estimator.sampleTrajectories(
                environment: environment, batchSize: b, options: configuration.sampling, rng: &rng,
                recordGraph: onPolicy, initialStates: initialStates(b))
            let lp = estimator.logProbabilities(of: batch, environment: environment, recorded: recorded)
            let loss: Variable
            switch configuration.objective {
            case .trajectoryBalance:
                let z = logZNetwork(Variable(Tensor(shape: [b, c], scalars: chosen))).reshaped([b])
                let delta = lp.logRatio() + z - Variable(lp.logRewards.reshaped([b]))
                loss = (delta * delta).mean()
            case .detailedBalance: loss = detailedBalanceLoss(lp)
            case .subTrajectoryBalance: loss = subTrajectoryBalanceLoss(lp, lambda: configuration.lambda)
            case .logPartitionVariance: loss = logPartitionVarianceLoss(lp)
            case .flowMatching, .modifiedDetailedBalance, .forwardLookingDetailedBalance,
                 .forwardLookingSubTrajectoryBalance:
                throw GFlowNetError.invalidConfiguration("conditional GFlowNets support TB, DB, SubTB and ZVar, not \(configuration.objective.name)")
            }
            let l = loss.value.scalar
            try environment.throwIfFailed()
            guard l.isFinite else { throw GFlowNetError.numerical(step: step + 1, loss: l) }
            optimizer.clearGradients()
            loss.backward()
            optimizer.step()
            trajectoriesSeen += b
            lossHistory.append(l)
            return l
        } catch {
            rng = savedRNG
            throw error
        }
    }

    /// Trains on `trajectories` trajectories (⌈trajectories / batch⌉ steps); `progress` as the trainer's.
    @discardableResult
    public func train(trajectories: Int, conditionSet: [Float], progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Float {
        let steps = (trajectories + configuration.batchSize - 1) / configuration.batchSize
        var last = Float.nan
        for s in 0..<steps {
            last = try trainStep(conditionSet: conditionSet)
            if let progress, !progress(s + 1, steps, last) { throw GFlowNetError.cancelled(step: s + 1) }
        }
        return last
    }

    /// `k` terminal base states `[k, dim]` sampled given `condition` with a generator seeded by `seed`.
    public func sample(_ k: Int, condition: [Float], seed: UInt64) throws -> [Int32] {
        precondition(condition.count == environment.conditionDimension)
        var local = RandomGenerator(seed: seed)
        environment.conditions = condition
        let s0 = environment.initialState
        // Trajectories per chunk so that one chunk's visited rows stay ≲ 2^24 floats.
        let perTrajectory = environment.maxTrajectoryLength * (environment.encodingDimension + 2 * configuration.hiddenWidth)
        let chunk = Swift.max(1, Swift.min(4096, (1 << 24) / Swift.max(1, perTrajectory)))
        var out = [Int32]()
        var remaining = k
        while remaining > 0 {
            let n = Swift.min(remaining, chunk)
            let (batch, _) = try estimator.sampleTrajectories(environment: environment, batchSize: n, options: SamplingOptions(),
                                                              rng: &local, recordGraph: false,
                                                              initialStates: (0..<n).flatMap { _ in s0 })
            out += environment.split(batch.terminalStates, n).0
            remaining -= n
        }
        return out
    }

    /// Exact P_T(x | c) over the base environment's states (its `stateIndex` order).
    public func exactDistribution(condition: [Float]) throws -> [Double] {
        precondition(condition.count == environment.conditionDimension)
        environment.conditions = condition
        let dag = try EnumeratedDAG(environment)
        let a = environment.actionCount
        // Forward passes in chunks of ≲ 2^24 floats.
        let dim = environment.stateDimension
        let chunk = Swift.max(1, Swift.min(4096, (1 << 24) / Swift.max(1, environment.encodingDimension + 2 * configuration.hiddenWidth)))
        var probabilities = [Double]()
        probabilities.reserveCapacity(dag.stateCount * a)
        var start = 0
        while start < dag.stateCount {
            let n = Swift.min(chunk, dag.stateCount - start)
            let states = Array(dag.states[(start * dim)..<((start + n) * dim)])
            let output = withoutGradients { estimator(Variable(environment.encodedTensor(states, count: n))) }
            let mask = Array(dag.forwardMask[(start * a)..<((start + n) * a)])
            probabilities += estimator.forwardLogProbabilities(output, forwardMask: mask).value.scalars.map { Double(exp($0)) }
            start += n
        }
        precondition(probabilities.count == dag.stateCount * a)
        try environment.throwIfFailed()
        return exactTerminatingDistribution(dag: dag, forwardProbabilities: probabilities)
    }

    /// R(x | c)/Z(c) over the base states and the true log Z(c).
    public func target(condition: [Float]) throws -> (probabilities: [Double], logZ: Double) {
        precondition(condition.count == environment.conditionDimension)
        environment.conditions = condition
        return try targetDistribution(environment, dag: try EnumeratedDAG(environment))
    }
}
