import FlowTensor
import FlowAutodiff
#if canImport(Glibc)
import Glibc
#endif

extension GFlowNetObjective {
    /// Whether the objective uses rewards of non-terminal states (modified DB, FL-DB, FL-SubTB).
    var needsStateRewards: Bool {
        self == .modifiedDetailedBalance || self == .forwardLookingDetailedBalance || self == .forwardLookingSubTrajectoryBalance
    }
}

extension GFlowNetTrainer {
    /// Why `environment` cannot be trained with the configuration's objective, or nil: the forward-looking
    /// objectives need `providesIntermediateLogRewards`; modified DB needs every state to be terminating
    /// (checked by type for HyperGrid, by enumeration otherwise).
    /// Truncated rollouts (`maxRolloutSteps` > 0) need FL-DB or FL-SubTB.
    public static func compatibilityProblem(environment env: DiscreteEnvironment, configuration c: Configuration) -> String? {
        if let problem = truncationProblem(c) { return problem }
        switch c.objective {
        case .forwardLookingDetailedBalance, .forwardLookingSubTrajectoryBalance:
            if !env.providesIntermediateLogRewards {
                return "\(c.objective.name) needs an environment with intermediate rewards (bitseq, ising, set), not this one"
            }
        case .modifiedDetailedBalance:
            let base = (env as? CustomRewardEnvironment)?.base ?? env
            if base is HyperGrid { return nil }
            guard let n = env.enumeratedStateCount, n <= 1 << 20,
                  env.isTerminating(env.allStates(), count: n).allSatisfy({ $0 }) else {
                return "moddb needs an environment where every state can terminate (e.g. hypergrid)"
            }
        default: break
        }
        return nil
    }

    /// The loss of the objectives that use per-state rewards. Throws when a reward fails or is not finite.
    func stateRewardLoss(of batch: TrajectoryBatch, recorded: Variable?) throws -> Variable {
        let env = environment, rows = batch.rows
        let t = batch.maxLength, b = batch.batchSize, n = rows.count, a = env.actionCount
        let output = recorded ?? estimator(Variable(env.encodedTensor(rows.states, count: n)))
        let lp = estimator.logProbabilities(of: batch, environment: env, recorded: output)
        let objective = configuration.objective
        let values = objective == .modifiedDetailedBalance
            ? try env.logReward(rows.states, count: n) : env.intermediateLogReward(rows.states, count: n)
        var perPosition = [Float](repeating: 0, count: t * b)
        for r in 0..<n {
            guard values[r].isFinite else {
                let dim = env.stateDimension
                throw GFlowNetError.invalidReward("log reward of state \(Array(rows.states[(r * dim)..<((r + 1) * dim)])) is \(values[r]) (rewards must be finite and positive)")
            }
            perPosition[rows.times[r] * b + rows.trajectories[r]] = Float(values[r])
        }
        let stateLogRewards = Tensor(shape: [t, b], scalars: perPosition)
        switch objective {
        case .forwardLookingDetailedBalance:
            return forwardLookingDetailedBalanceLoss(lp, stateLogRewards: stateLogRewards, complete: batch.complete)
        case .forwardLookingSubTrajectoryBalance:
            return forwardLookingSubTrajectoryBalanceLoss(lp, stateLogRewards: stateLogRewards, lambda: configuration.lambda,
                                                          complete: batch.complete)
        default:
            let positions = (0..<n).map { rows.times[$0] * b + rows.trajectories[$0] }
            let exitLogPF = estimator.forwardLogProbabilities(output, forwardMask: env.forwardMask(rows.states, count: n))
                .gather(axis: 1, indices: [Int](repeating: a - 1, count: n), shape: [n, 1]).reshaped([n])
                .scatterAdd(rowsInto: t * b, indices: positions).reshaped([t, b])
            return modifiedDetailedBalanceLoss(lp, exitLogPF: exitLogPF, stateLogRewards: stateLogRewards)
        }
    }

    /// log Z estimate of the state-reward objectives: FL: log F̃(s₀) + log R(s₀); modified DB:
    /// log R(s₀) − log P_F(s_f | s₀) (P_T(s₀) = R(s₀)/Z).
    func stateRewardLogZEstimate() -> Double {
        let s0 = environment.initialState
        let (p, output) = forwardProbabilities(s0, count: 1)
        if configuration.objective == .modifiedDetailedBalance {
            let r = (try? environment.logReward(s0, count: 1).first) ?? nil
            return (r ?? .nan) - log(p[environment.actionCount - 1])
        }
        let r0 = environment.intermediateLogReward(s0, count: 1)[0]
        return Double(output.scalars[estimator.logFlowColumn!]) + r0
    }
}
