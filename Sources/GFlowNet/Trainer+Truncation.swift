import FlowTensor
import FlowAutodiff

// Truncated rollouts (Pan et al. 2023, "incomplete trajectories"): with `maxRolloutSteps` = K > 0 every
// training step advances B rollouts in lockstep by at most K transitions. A rollout that exits within
// the step is a complete trajectory; the others are incomplete (no terminal reward; their last state
// only starts sub-trajectories) and are continued from that state by the next step, so every depth of
// the DAG is trained although no batch holds a whole trajectory. Slots left free start at s₀.
// Only objectives whose loss accepts incomplete trajectories (FL-DB, FL-SubTB) can be used; replay
// buffers (which store whole trajectories) cannot.

/// Rollouts interrupted at the step limit: the forward actions from s₀ of each (replayed from s₀ when
/// a checkpoint is loaded, which validates them) and their current states `[count, stateDimension]`.
struct RolloutsInFlight: Equatable {
    var paths: [[Int]] = []
    var states: [Int32] = []
}

extension GFlowNetObjective {
    /// Whether the trainer can train this objective on incomplete trajectories.
    public var acceptsIncompleteTrajectories: Bool {
        self == .forwardLookingDetailedBalance || self == .forwardLookingSubTrajectoryBalance
    }
}

extension GFlowNetTrainer {
    /// Why truncated rollouts cannot be used with `c` (nil when `maxRolloutSteps` is 0 or allowed).
    static func truncationProblem(_ c: Configuration) -> String? {
        guard c.maxRolloutSteps > 0, !c.objective.acceptsIncompleteTrajectories else { return nil }
        return "max rollout steps (truncated, incomplete trajectories) needs an objective that accepts incomplete trajectories (fldb, flsubtb), not \(c.objective.name)"
    }

    /// Rollouts in flight (interrupted at the step limit, continued by the next step).
    public var rolloutsInFlight: Int { inFlight.paths.count }

    /// Sets the rollout limit K (0 = whole trajectories). Throws (changing nothing) when K is out of
    /// range, the objective does not accept incomplete trajectories, or a replay buffer is set.
    /// Rollouts in flight are kept while K > 0 and dropped when it becomes 0.
    public func setMaxRolloutSteps(_ k: Int) throws {
        var c = configuration
        c.maxRolloutSteps = k
        if let problem = c.problem ?? Self.truncationProblem(c) { throw GFlowNetError.invalidConfiguration(problem) }
        if k > 0 && replay != nil {
            throw GFlowNetError.invalidConfiguration("truncated rollouts cannot be combined with a replay buffer (it stores whole trajectories); remove the replay buffer first")
        }
        configuration = c
        if k == 0 { inFlight = RolloutsInFlight() }
    }

    /// One training batch of truncated rollouts: the rollouts in flight continued, then fresh ones from
    /// s₀; `inFlight` is replaced by the rollouts interrupted in this batch.
    func sampleTruncatedBatch(onPolicy: Bool, inFlight: inout RolloutsInFlight) throws -> (TrajectoryBatch, Variable?) {
        guard replay == nil else {
            throw GFlowNetError.invalidConfiguration("truncated rollouts cannot be combined with a replay buffer")
        }
        let env = environment, dim = env.stateDimension, b = configuration.batchSize
        let continued = inFlight.paths.count
        var starts = inFlight.states
        for _ in continued..<b { starts += env.initialState }
        let (batch, recorded) = try estimator.sampleTrajectories(
            environment: env, batchSize: b, options: configuration.sampling, rng: &rng, recordGraph: onPolicy,
            initialStates: starts, maxSteps: configuration.maxRolloutSteps)
        var actions = [[Int]](repeating: [], count: b)
        for r in 0..<batch.rows.count { actions[batch.rows.trajectories[r]].append(batch.rows.actions[r]) }
        var next = RolloutsInFlight()
        for i in 0..<b where !(batch.complete?[i] ?? true) {
            let path = (i < continued ? inFlight.paths[i] : []) + actions[i].dropLast()   // the last is a placeholder
            guard path.count < env.maxTrajectoryLength else {
                throw GFlowNetError.invalidConfiguration("a trajectory exceeded the environment's maximum length \(env.maxTrajectoryLength) (exit never chosen)")
            }
            next.paths.append(path)
            next.states += batch.terminalStates[(i * dim)..<((i + 1) * dim)]
        }
        inFlight = next
        return (batch, recorded)
    }

    /// The rollouts in flight as checkpoint text: paths joined by ";", actions by ",".
    var inFlightText: String { inFlight.paths.map { $0.map(String.init).joined(separator: ",") }.joined(separator: ";") }

    /// Restores rollouts in flight from `inFlightText`, replaying each path from s₀ with every action
    /// checked against the forward mask. Returns a problem description, or nil.
    func restoreInFlight(_ text: String) -> String? {
        guard !text.isEmpty else { inFlight = RolloutsInFlight(); return nil }
        let env = environment
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        guard configuration.maxRolloutSteps > 0, parts.count <= configuration.batchSize else {
            return "rollouts in flight do not fit the configuration"
        }
        var restored = RolloutsInFlight()
        for part in parts {
            var path: [Int] = []
            for item in part.split(separator: ",") {
                guard let action = Int(item) else { return "rollouts in flight are invalid" }
                path.append(action)
            }
            guard path.count <= env.maxTrajectoryLength - 1, let states = statesAlong(path[...], exitLast: false) else {
                return "rollouts in flight are invalid"
            }
            restored.paths.append(path)
            restored.states += states.suffix(env.stateDimension)
        }
        inFlight = restored
        return nil
    }
}
