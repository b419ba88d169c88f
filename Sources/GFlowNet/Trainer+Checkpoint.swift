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
        var envFields: [String: String]
        if let grid = base as? HyperGrid {
            envFields = ["env": "hypergrid", "ndim": String(grid.ndim), "height": String(grid.height),
                         "r0": String(grid.r0.bitPattern), "r1": String(grid.r1.bitPattern), "r2": String(grid.r2.bitPattern)]
        } else if let fields = ZooCheckpoint.fields(of: base) {
            envFields = fields
        } else if let user = base as? CallbackEnvironment {
            envFields = user.checkpointFields
        } else {
            throw FlowIOError.invalid("only GFlowNets on built-in or callback environments can be saved")
        }
        let c = configuration
        var tensors = estimator.stateDict().map { ("estimator.\($0.name)", $0.tensor) }
        tensors.append(("log_z", logZ.value.copy()))
        tensors += optimizer.stateTensors().map { ("optimizer.\($0.name)", $0.tensor) }
        var metadata: [String: String] = [
            "flowgen.kind": Self.kind,
            "flowgen.format": "1",
            "flowgen.reward": custom == nil ? "builtin" : "callback",
            "flowgen.loss": c.objective.name,
            "flowgen.lambda": String(c.lambda.bitPattern),
            "flowgen.batch_size": String(c.batchSize),
            "flowgen.hidden_width": String(c.hiddenWidth),
            "flowgen.hidden_layers": String(c.hiddenLayers),
            "flowgen.learning_rate": String(c.learningRate.bitPattern),
            "flowgen.log_z_learning_rate": String(c.logZLearningRate.bitPattern),
            "flowgen.epsilon": String(c.sampling.epsilon.bitPattern),
            "flowgen.temperature": String(c.sampling.temperature.bitPattern),
            "flowgen.uniform_pb": c.uniformBackward ? "1" : "0",
            "flowgen.seed": String(c.seed),
            "flowgen.step": String(optimizer.stepCount),
            "flowgen.trajectories": String(trajectoriesSeen),
            "flowgen.modes_found": modesFound.sorted().map(String.init).joined(separator: ","),
            "flowgen.log_z_estimate": String(lastLogZEstimate.bitPattern),
            "flowgen.rng": rng.stateWords.map(String.init).joined(separator: ","),
            "flowgen.max_rollout_steps": String(c.maxRolloutSteps),
            "flowgen.rollouts_in_flight": inFlightText,
        ]
        for (key, value) in envFields { metadata["flowgen." + key] = value }
        let replayed = replayCheckpoint()
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
        let envKind = try fields.string("env")
        let reward = meta["flowgen.reward"] ?? "builtin"
        guard reward == "builtin" || reward == "callback" else { throw FlowIOError.corrupt("unknown reward kind '\(reward)'") }
        if reward == "callback" && logReward == nil {
            throw FlowIOError.invalid("the checkpoint was trained with a user reward function; load it with that function (fg_gfn_load_with_reward)")
        }
        if reward == "builtin" && logReward != nil {
            throw FlowIOError.invalid("the checkpoint uses the built-in HyperGrid reward; load it without a reward function")
        }
        if (envKind == CallbackEnvironment.checkpointKind) != (user != nil) {
            throw FlowIOError.invalid(user == nil
                ? "the checkpoint was trained on a user environment; load it with that environment (fg_gfn_load_with_env)"
                : "the checkpoint holds a built-in '\(envKind)' environment; load it without an environment")
        }
        let base: DiscreteEnvironment
        if let user {
            if let mismatch = user.checkpointMismatch(fields) { throw FlowIOError.invalid("the environment does not match the checkpoint: \(mismatch)") }
            base = user
        } else if envKind == "hypergrid" {
            let ndim = try fields.integer("ndim", as: Int.self), height = try fields.integer("height", as: Int.self)
            let r0 = try double("r0"), r1 = try double("r1"), r2 = try double("r2")
            guard ndim >= 1, ndim <= 1024, height >= 2, height <= 1 << 16,
                  let _ = HyperGrid.stateCount(ndim: ndim, height: height), ndim * height <= 1 << 20 else {
                throw FlowIOError.corrupt("checkpoint grid size ndim=\(ndim) height=\(height) is invalid")
            }
            guard r0.isFinite, r0 > 0, r1.isFinite, r1 >= 0, r2.isFinite, r2 >= 0 else {
                throw FlowIOError.corrupt("checkpoint rewards are invalid")
            }
            base = HyperGrid(ndim: ndim, height: height, r0: r0, r1: r1, r2: r2)
        } else {
            base = try ZooCheckpoint.environment(kind: envKind, fields: fields)
        }
        var c = Configuration()
        guard let objective = GFlowNetObjective(name: try fields.string("loss")) else { throw FlowIOError.corrupt("unknown loss in checkpoint") }
        c.objective = objective
        c.lambda = try fields.float("lambda")
        c.batchSize = try fields.integer("batch_size", as: Int.self)
        c.hiddenWidth = try fields.integer("hidden_width", as: Int.self)
        c.hiddenLayers = try fields.integer("hidden_layers", as: Int.self)
        c.learningRate = try fields.float("learning_rate")
        c.logZLearningRate = try fields.float("log_z_learning_rate")
        c.sampling = SamplingOptions(epsilon: try fields.float("epsilon"), temperature: try fields.float("temperature"))
        c.uniformBackward = try fields.string("uniform_pb") == "1"
        c.seed = try fields.integer("seed", as: UInt64.self)
        // Absent in checkpoints written before truncated rollouts existed: 0 (off).
        c.maxRolloutSteps = try meta["flowgen.max_rollout_steps"] == nil ? 0 : fields.integer("max_rollout_steps", as: Int.self)
        if let problem = c.problem { throw FlowIOError.corrupt("checkpoint configuration: \(problem)") }
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
        let params = file.tensors.filter { $0.name.hasPrefix("estimator.") }
            .map { (String($0.name.dropFirst("estimator.".count)), $0.tensor) }
        do { try trainer.estimator.loadStateDict(params) } catch {
            throw FlowIOError.corrupt("checkpoint weights: \(error)")
        }
        for (_, t) in params where !t.isFinite { throw FlowIOError.corrupt("checkpoint weights contain NaN or inf") }
        guard let z = file.tensor(named: "log_z"), z.shape == [1], z.isFinite else {
            throw FlowIOError.corrupt("checkpoint 'log_z' is missing, mis-shaped or not finite")
        }
        trainer.logZ.assign(z.copy())
        let slots = file.tensors.filter { $0.name.hasPrefix("optimizer.") }
            .map { (String($0.name.dropFirst("optimizer.".count)), $0.tensor) }
        if let problem = trainer.optimizer.loadStateTensors(slots, stepCount: step) {
            throw FlowIOError.corrupt("checkpoint \(problem)")
        }
        if let problem = trainer.restoreInFlight(meta["flowgen.rollouts_in_flight"] ?? "") ?? trainer.restoreReplay(from: file) {
            throw FlowIOError.corrupt("checkpoint \(problem)")
        }
        if let user { try user.throwIfFailed() }
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
