import FlowTensor
import FlowAutodiff
import FlowNN

/// Checkpoint layout (safetensors): estimator parameters under "estimator.layers.<i>.weight/bias",
/// "log_z" [1], optimizer slots under "optimizer.g<group>.p<param>.s<slot>", and metadata
/// "flowgen.kind" = "gfn", "flowgen.format" = "1", the environment ("flowgen.env" = "hypergrid", ndim,
/// height, rewards as IEEE-754 bit patterns; or "bitseq", "ising", "set": see EnvironmentCheckpoint.swift),
/// the configuration, step, trajectories, modes found, the
/// ZVar log Z estimate, the generator state, "flowgen.max_rollout_steps" with the truncated rollouts in
/// flight ("flowgen.rollouts_in_flight": action paths from s₀; both optional, absent = 0 / none), the replay
/// buffer if any (ReplayBuffer+Checkpoint.swift; optional) and "flowgen.reward" ("builtin", or "callback" for a
/// `CustomRewardEnvironment` over a HyperGrid, whose reward function must be supplied again when
/// loading).
extension GFlowNetTrainer {
    static let kind = "gfn"

    /// The complete state as a safetensors file. Throws for environments without a checkpoint format.
    public func checkpoint() throws -> SafeTensorsFile {
        let custom = environment as? CustomRewardEnvironment
        let base = custom?.base ?? environment
        let envFields = try GFlowNetCheckpoint.environmentFields(base)
        let c = configuration
        var tensors = estimator.stateDict().map { ("estimator.\($0.name)", $0.tensor) }
        tensors.append(("log_z", logZ.value.copy()))
        tensors += optimizer.stateTensors().map { ("optimizer.\($0.name)", $0.tensor) }
        var metadata: [String: String] = [
            "flowgen.kind": Self.kind,
            "flowgen.format": "1",
            "flowgen.reward": custom == nil ? "builtin" : "callback",
            "flowgen.step": String(optimizer.stepCount),
            "flowgen.trajectories": String(trajectoriesSeen),
            "flowgen.modes_found": modesFound.sorted().map(String.init).joined(separator: ","),
            "flowgen.log_z_estimate": String(lastLogZEstimate.bitPattern),
            "flowgen.rng": rng.stateWords.map(String.init).joined(separator: ","),
            "flowgen.rollouts_in_flight": inFlightText,
        ]
        for (key, value) in envFields.merging(GFlowNetCheckpoint.configurationFields(c), uniquingKeysWith: { a, _ in a }) {
            metadata["flowgen." + key] = value
        }
        let replayed = replayCheckpoint()
        // A callback that failed while a backward-kind item's path was derived must not leave a partial path.
        try environment.throwIfFailed()
        metadata.merge(replayed.metadata) { _, new in new }
        tensors += replayed.tensors
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Rebuilds a trainer from `checkpoint()`'s output; every field is checked and problems are
    /// reported as `FlowIOError.corrupt`. A checkpoint of a user-reward run needs `logReward` (and a
    /// built-in one must not get it), one of a run on a `CallbackEnvironment` needs an `environment` of the
    /// same shape (dimensions, actions, encoding, length limit, state count, s₀): otherwise `FlowIOError.invalid`.
    public static func restore(from file: SafeTensorsFile, logReward: (([Int32], Int) throws -> [Double])? = nil,
                               environment user: CallbackEnvironment? = nil) throws -> GFlowNetTrainer {
        let meta = file.metadata
        let fields = CheckpointMetadata(file)
        func double(_ key: String) throws -> Double { Double(bitPattern: try fields.integer(key, as: UInt64.self)) }
        guard try fields.string("kind") == kind else {
            throw FlowIOError.corrupt("checkpoint holds a '\(meta["flowgen.kind"] ?? "")' model, not a GFlowNet")
        }
        guard try fields.string("format") == "1" else { throw FlowIOError.corrupt("unsupported GFlowNet checkpoint format") }
        let reward = meta["flowgen.reward"] ?? "builtin"
        guard reward == "builtin" || reward == "callback" else { throw FlowIOError.corrupt("unknown reward kind '\(reward)'") }
        if reward == "callback" && logReward == nil {
            throw FlowIOError.invalid("the checkpoint was trained with a user reward function; load it with that function (fg_gfn_load_with_reward)")
        }
        if reward == "builtin" && logReward != nil {
            throw FlowIOError.invalid("the checkpoint uses the built-in HyperGrid reward; load it without a reward function")
        }
        let base = try GFlowNetCheckpoint.environment(fields: fields, user: user, loadFunction: "fg_gfn_load_with_env")
        let c = try GFlowNetCheckpoint.configuration(fields)
        let step = try fields.integer("step", as: Int.self)
        let trajectories = try fields.integer("trajectories", as: Int.self)
        guard step >= 0, trajectories >= 0 else { throw FlowIOError.corrupt("checkpoint counters are negative") }
        let stateCount = base.enumeratedStateCount ?? Int.max
        let modesText = try fields.string("modes_found")
        var modes = Set<Int>()
        for part in modesText.split(separator: ",") {
            guard let m = Int(part), m >= 0, m < stateCount else { throw FlowIOError.corrupt("checkpoint modes_found is invalid") }
            modes.insert(m)
        }
        let estimate = try double("log_z_estimate")
        let savedRNG = try fields.randomGenerator()

        let env: DiscreteEnvironment = logReward.map { CustomRewardEnvironment(base: base, logReward: $0) } ?? base
        if let problem = GFlowNetTrainer.resourceProblem(environment: env, configuration: c)
            ?? GFlowNetTrainer.compatibilityProblem(environment: env, configuration: c) {
            throw FlowIOError.corrupt("checkpoint configuration: \(problem)")
        }
        let trainer = GFlowNetTrainer(environment: env, configuration: c)
        try GFlowNetCheckpoint.loadWeights(trainer.estimator, prefix: "estimator", from: file)
        guard let z = file.tensor(named: "log_z"), z.shape == [1], z.isFinite else {
            throw FlowIOError.corrupt("checkpoint 'log_z' is missing, mis-shaped or not finite")
        }
        trainer.logZ.assign(z.copy())
        let slots = file.tensors.filter { $0.name.hasPrefix("optimizer.") }
            .map { (String($0.name.dropFirst("optimizer.".count)), $0.tensor) }
        if let problem = trainer.optimizer.loadStateTensors(slots, stepCount: step) {
            throw FlowIOError.corrupt("checkpoint \(problem)")
        }
        let problem = trainer.restoreInFlight(meta["flowgen.rollouts_in_flight"] ?? "") ?? trainer.restoreReplay(from: file)
        // A user callback that failed while the paths were re-walked is reported as itself, not as corruption.
        if let user { try user.throwIfFailed() }
        if let problem { throw FlowIOError.corrupt("checkpoint \(problem)") }
        trainer.rng = savedRNG
        trainer.restoreCounters(trajectories: trajectories, modes: modes, logZEstimate: estimate)
        return trainer
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    public func save(to path: String) throws { try checkpoint().write(path) }

    /// Loads a checkpoint written by `save(to:)` (see `restore(from:logReward:environment:)`).
    public static func load(from path: String, logReward: (([Int32], Int) throws -> [Double])? = nil,
                            environment: CallbackEnvironment? = nil) throws -> GFlowNetTrainer {
        try restore(from: SafeTensorsFile.read(path), logReward: logReward, environment: environment)
    }
}
