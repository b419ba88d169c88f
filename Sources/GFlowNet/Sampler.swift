import FlowTensor
import FlowAutodiff
#if canImport(Glibc)
import Glibc
#endif

/// Exploration applied when sampling: the behaviour policy is
/// (1 − ε)·softmax(logits / temperature) + ε·uniform(valid actions). Losses always use the
/// unperturbed policy's log-probabilities (torchgfn's off-policy rule).
public struct SamplingOptions: Equatable, Sendable {
    public var epsilon: Float
    public var temperature: Float

    public init(epsilon: Float = 0, temperature: Float = 1) {
        self.epsilon = epsilon
        self.temperature = temperature
    }

    /// True when the behaviour policy equals the policy (ε = 0, temperature = 1).
    public var isOnPolicy: Bool { epsilon == 0 && temperature == 1 }
}

/// A batch of B trajectories sampled in lockstep, stored as visited rows (time-major order). With a
/// rollout limit some trajectories may be incomplete (see `complete`).
public struct TrajectoryBatch {
    public let batchSize: Int
    /// Longest trajectory (transitions, exit included).
    public var maxLength: Int
    /// Every visited state with the action taken there (the last row of a trajectory takes exit).
    public var rows: VisitedRows
    /// Transitions per trajectory, exit included; for an incomplete trajectory, its number of states
    /// (the last state's row carries a placeholder action whose log P_F is never used).
    public var lengths: [Int]
    /// Terminal objects x `[B, stateDimension]` (an incomplete trajectory's last state).
    public var terminalStates: [Int32]
    /// log R(x) `[B]` (0 for incomplete trajectories).
    public var logRewards: [Double]
    /// Whether each trajectory ended with exit; nil = all complete.
    public var complete: [Bool]? = nil

    /// Number of complete trajectories.
    public var completeCount: Int { complete?.filter { $0 }.count ?? batchSize }
}

/// Draws one action per row from the behaviour policy of `options`.
/// `logits` is [n, width] with the P_F logits in the first `actionCount` columns.
func sampleActions(logits: Tensor, actionCount a: Int, mask: [Bool], options: SamplingOptions,
                   rng: inout RandomGenerator) -> [Int] {
    let n = logits.shape[0], width = logits.shape[1]
    let invT = Double(1 / options.temperature), eps = Double(options.epsilon)
    var actions = [Int](repeating: a - 1, count: n)
    var weights = [Double](repeating: 0, count: a)
    logits.withUnsafeBufferPointer { p in
        for r in 0..<n {
            let row = p.baseAddress! + r &* width
            var m = -Double.infinity, valid = 0
            for j in 0..<a where mask[r &* a &+ j] { m = Swift.max(m, Double(row[j]) * invT); valid += 1 }
            var total = 0.0
            for j in 0..<a {
                weights[j] = mask[r &* a &+ j] ? Glibc.exp(Double(row[j]) * invT - m) : 0
                total += weights[j]
            }
            let u = rng.nextUniformDouble()
            var acc = 0.0, chosen = -1
            for j in 0..<a where mask[r &* a &+ j] {
                acc += (1 - eps) * weights[j] / total + eps / Double(valid)
                chosen = j
                if u < acc { break }
            }
            actions[r] = chosen
        }
    }
    return actions
}

extension PolicyEstimator {
    /// Samples `batchSize` trajectories from s₀, all advancing in lockstep (one batched forward per step).
    ///
    /// With `recordGraph` the activations of every forward pass are kept and returned as one graph node
    /// (rows in visiting order) whose backward runs over all visited states at once, so an on-policy
    /// loss reuses them instead of recomputing the forward pass (the fast path).
    /// Throws when the environment offers no valid action, exceeds its maximum length, or its reward
    /// fails or is not finite.
    /// `initialStates` `[b, stateDimension]` replaces s₀ per trajectory (conditional GFlowNets, continued
    /// rollouts). `maxSteps` > 0 stops after that many transitions: trajectories still running are then
    /// incomplete (`complete[b]` false, `maxSteps + 1` states, no reward evaluated).
    public func sampleTrajectories(environment env: DiscreteEnvironment, batchSize b: Int, options: SamplingOptions,
                                   rng: inout RandomGenerator, recordGraph: Bool,
                                   initialStates: [Int32]? = nil, maxSteps: Int = 0) throws -> (TrajectoryBatch, Variable?) {
        let dim = env.stateDimension, a = actionCount
        var states = [Int32]()
        states.reserveCapacity(b * dim)
        let s0 = env.initialState
        if let initialStates {
            precondition(initialStates.count == b * dim, "initialStates must be [batchSize, stateDimension]")
            states = initialStates
        } else {
            for _ in 0..<b { states += s0 }
        }
        var active = Array(0..<b)
        var previous = [Int](repeating: -1, count: b)
        var rows = VisitedRows()
        var keptSteps: [KeptActivations] = []
        var lengths = [Int](repeating: 0, count: b)
        var terminal = [Int32](repeating: 0, count: b * dim)
        var complete = [Bool](repeating: true, count: b)
        var t = 0
        while !active.isEmpty {
            guard t < env.maxTrajectoryLength || (maxSteps > 0 && t == maxSteps) else {
                try env.throwIfFailed()
                throw GFlowNetError.invalidConfiguration("a trajectory exceeded the environment's maximum length \(env.maxTrajectoryLength) (exit never chosen)")
            }
            let n = active.count
            let x = env.encodedTensor(states, count: n)
            let output: Variable
            if recordGraph {
                let kept = forwardKeepingActivations(x)
                keptSteps.append(kept)
                output = Variable(kept.output)
            } else {
                output = withoutGradients { self(Variable(x)) }
            }
            let mask = env.forwardMask(states, count: n)
            for r in 0..<n where !(0..<a).contains(where: { mask[r * a + $0] }) {
                try env.throwIfFailed()
                throw GFlowNetError.invalidConfiguration("state \(Array(states[(r * dim)..<((r + 1) * dim)])) has no valid forward action")
            }
            let truncated = maxSteps > 0 && t == maxSteps
            // At the limit the remaining rows only provide log F of their state: a placeholder valid action.
            let actions = truncated
                ? (0..<n).map { r in (0..<a).first { mask[r * a + $0] } ?? a - 1 }
                : sampleActions(logits: output.value, actionCount: a, mask: mask, options: options, rng: &rng)
            rows.states += states
            rows.times += [Int](repeating: t, count: n)
            rows.trajectories += active
            rows.actions += actions
            rows.previousActions += (0..<n).map { previous[active[$0]] }
            if truncated {
                for r in 0..<n {
                    let traj = active[r]
                    lengths[traj] = t + 1
                    complete[traj] = false
                    for d in 0..<dim { terminal[traj * dim + d] = states[r * dim + d] }
                }
                t += 1
                break
            }
            // Split into finished (exit) and continuing rows.
            var nextActive: [Int] = [], moveStates: [Int32] = [], moveActions: [Int] = []
            for r in 0..<n {
                let traj = active[r]
                if actions[r] == a - 1 {
                    lengths[traj] = t + 1
                    for d in 0..<dim { terminal[traj * dim + d] = states[r * dim + d] }
                } else {
                    nextActive.append(traj)
                    moveStates += states[(r * dim)..<((r + 1) * dim)]
                    moveActions.append(actions[r])
                    previous[traj] = actions[r]
                }
            }
            states = nextActive.isEmpty ? [] : env.step(moveStates, actions: moveActions, count: nextActive.count)
            active = nextActive
            t += 1
        }
        try env.throwIfFailed()
        let finished = (0..<b).filter { complete[$0] }
        var logRewards = [Double](repeating: 0, count: b)
        if !finished.isEmpty {
            let values = try env.logReward(finished.count == b ? terminal : finished.flatMap { terminal[($0 * dim)..<(($0 + 1) * dim)] },
                                           count: finished.count)
            for (k, i) in finished.enumerated() {
                guard values[k].isFinite else {
                    throw GFlowNetError.invalidReward("log reward of terminal state \(Array(terminal[(i * dim)..<((i + 1) * dim)])) is \(values[k]) (rewards must be finite and positive)")
                }
                logRewards[i] = values[k]
            }
        }
        let batch = TrajectoryBatch(batchSize: b, maxLength: t, rows: rows, lengths: lengths, terminalStates: terminal,
                                    logRewards: logRewards, complete: finished.count == b ? nil : complete)
        return (batch, recordGraph ? batchedOutput(of: keptSteps) : nil)
    }

    /// The time-major log-probabilities of a batch under the current (unperturbed) policy. `recorded`
    /// is the output returned by an on-policy `sampleTrajectories(recordGraph: true)`; without it the
    /// visited states are re-evaluated in one batched forward pass.
    public func logProbabilities(of batch: TrajectoryBatch, environment env: DiscreteEnvironment,
                                 recorded: Variable? = nil) -> TrajectoryLogProbabilities {
        let output = recorded ?? self(Variable(env.encodedTensor(batch.rows.states, count: batch.rows.count)))
        let t = batch.maxLength, b = batch.batchSize
        let c = contributions(output: output, rows: batch.rows, environment: env, maxLength: t, batchSize: b)
        return TrajectoryLogProbabilities(
            logPF: c.logPF.reshaped([t, b]), logPB: c.logPB.reshaped([t, b]), logF: c.logF?.reshaped([t, b]),
            lengths: batch.lengths, logRewards: Tensor(shape: [b], scalars: batch.logRewards.map { Float($0) }))
    }
}
