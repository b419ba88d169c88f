import FlowTensor
import FlowNN

/// The checkpoint fields shared by `GFlowNetTrainer` and `ConditionalGFlowNet`: the environment (HyperGrid
/// with its rewards as IEEE-754 bit patterns, the zoo environments of EnvironmentCheckpoint.swift, or a user
/// environment's shape) and the training configuration, as `flowgen.<key>` metadata; and loading a module's
/// weights from `<prefix>.<name>` tensors.
enum GFlowNetCheckpoint {
    /// The environment's fields (keys without the "flowgen." prefix). Throws for environments without a format.
    static func environmentFields(_ base: DiscreteEnvironment) throws -> [String: String] {
        if let grid = base as? HyperGrid {
            return ["env": "hypergrid", "ndim": String(grid.ndim), "height": String(grid.height),
                    "r0": String(grid.r0.bitPattern), "r1": String(grid.r1.bitPattern), "r2": String(grid.r2.bitPattern)]
        }
        if let fields = ZooCheckpoint.fields(of: base) { return fields }
        if let user = base as? CallbackEnvironment { return user.checkpointFields }
        throw FlowIOError.invalid("only GFlowNets on built-in or callback environments can be saved")
    }

    /// The environment a checkpoint describes: rebuilt for built-in kinds; `user` (required exactly when the
    /// checkpoint holds a user environment, and checked against its recorded shape) otherwise.
    static func environment(fields: CheckpointMetadata, user: CallbackEnvironment?, loadFunction: String) throws -> DiscreteEnvironment {
        let kind = try fields.string("env")
        if (kind == CallbackEnvironment.checkpointKind) != (user != nil) {
            throw FlowIOError.invalid(user == nil
                ? "the checkpoint was trained on a user environment; load it with that environment (\(loadFunction))"
                : "the checkpoint holds a built-in '\(kind)' environment; load it without an environment")
        }
        if let user {
            if let mismatch = user.checkpointMismatch(fields) { throw FlowIOError.invalid("the environment does not match the checkpoint: \(mismatch)") }
            return user
        }
        guard kind == "hypergrid" else { return try ZooCheckpoint.environment(kind: kind, fields: fields) }
        func double(_ key: String) throws -> Double { Double(bitPattern: try fields.integer(key, as: UInt64.self)) }
        let ndim = try fields.integer("ndim", as: Int.self), height = try fields.integer("height", as: Int.self)
        let r0 = try double("r0"), r1 = try double("r1"), r2 = try double("r2")
        guard ndim >= 1, ndim <= 1024, height >= 2, height <= 1 << 16,
              let _ = HyperGrid.stateCount(ndim: ndim, height: height), ndim * height <= 1 << 20 else {
            throw FlowIOError.corrupt("checkpoint grid size ndim=\(ndim) height=\(height) is invalid")
        }
        guard r0.isFinite, r0 > 0, r1.isFinite, r1 >= 0, r2.isFinite, r2 >= 0 else {
            throw FlowIOError.corrupt("checkpoint rewards are invalid")
        }
        return HyperGrid(ndim: ndim, height: height, r0: r0, r1: r1, r2: r2)
    }

    /// The configuration's fields (keys without the prefix; floats as bit patterns).
    static func configurationFields(_ c: GFlowNetTrainer.Configuration) -> [String: String] {
        ["loss": c.objective.name, "lambda": String(c.lambda.bitPattern), "batch_size": String(c.batchSize),
         "hidden_width": String(c.hiddenWidth), "hidden_layers": String(c.hiddenLayers),
         "learning_rate": String(c.learningRate.bitPattern), "log_z_learning_rate": String(c.logZLearningRate.bitPattern),
         "epsilon": String(c.sampling.epsilon.bitPattern), "temperature": String(c.sampling.temperature.bitPattern),
         "uniform_pb": c.uniformBackward ? "1" : "0", "seed": String(c.seed), "max_rollout_steps": String(c.maxRolloutSteps)]
    }

    /// The configuration a checkpoint records, validated (`FlowIOError.corrupt` naming the problem).
    static func configuration(_ fields: CheckpointMetadata) throws -> GFlowNetTrainer.Configuration {
        var c = GFlowNetTrainer.Configuration()
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
        c.maxRolloutSteps = try fields.values["flowgen.max_rollout_steps"] == nil ? 0 : fields.integer("max_rollout_steps", as: Int.self)
        if let problem = c.problem { throw FlowIOError.corrupt("checkpoint configuration: \(problem)") }
        return c
    }

    /// Loads `module`'s parameters from the tensors named `<prefix>.<name>` (all present, right shapes, finite).
    static func loadWeights(_ module: Module, prefix: String, from file: SafeTensorsFile) throws {
        try module.loadCheckpointWeights(file.tensors(prefixed: prefix + "."), what: "\(prefix) weights")
    }
}
