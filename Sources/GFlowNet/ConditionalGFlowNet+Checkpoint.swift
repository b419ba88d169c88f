import FlowTensor
import FlowNN

/// Checkpoint layout of a conditional GFlowNet (safetensors): "estimator.*" and "log_z_network.*" weights,
/// "optimizer.*" slots, metadata "flowgen.kind" = "gfn_cond", "flowgen.format" = "1", the environment and
/// configuration fields of `GFlowNetCheckpoint`, "condition_dim", "log_z_hidden", "step", "trajectories" and
/// "rng". The reward R(x | c) is always the caller's function and is supplied again when loading (with the
/// user environment, for one trained on a user environment).
extension ConditionalGFlowNet {
    static let kind = "gfn_cond"

    /// The complete state as a safetensors file.
    public func checkpoint() throws -> SafeTensorsFile {
        var tensors = estimator.stateDict().map { ("estimator.\($0.name)", $0.tensor) }
        tensors += logZNetwork.stateDict().map { ("log_z_network.\($0.name)", $0.tensor) }
        tensors += optimizer.stateTensors().map { ("optimizer.\($0.name)", $0.tensor) }
        var metadata: [String: String] = [
            "flowgen.kind": Self.kind, "flowgen.format": "1",
            "flowgen.condition_dim": String(environment.conditionDimension),
            "flowgen.log_z_hidden": String(logZNetwork.parameters[0].value.shape[0]),
            "flowgen.step": String(optimizer.stepCount), "flowgen.trajectories": String(trajectoriesSeen),
            "flowgen.rng": rng.stateWords.map(String.init).joined(separator: ","),
        ]
        let fields = try GFlowNetCheckpoint.environmentFields(environment.base)
            .merging(GFlowNetCheckpoint.configurationFields(configuration)) { a, _ in a }
        for (key, value) in fields { metadata["flowgen." + key] = value }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Rebuilds a conditional GFlowNet from `checkpoint()`'s output with the reward function `logReward`
    /// (and `environment`, required exactly when it was trained on a user environment, of the same shape).
    /// Malformed contents → `FlowIOError.corrupt`; a missing or unexpected environment → `.invalid`.
    public static func restore(from file: SafeTensorsFile, logReward: @escaping ([Int32], [Float], Int) throws -> [Double],
                               environment user: CallbackEnvironment? = nil) throws -> ConditionalGFlowNet {
        let fields = CheckpointMetadata(file)
        guard try fields.string("kind") == kind else {
            throw FlowIOError.corrupt("checkpoint holds a '\(file.metadata["flowgen.kind"] ?? "")' model, not a conditional GFlowNet")
        }
        guard try fields.string("format") == "1" else { throw FlowIOError.corrupt("unsupported conditional GFlowNet checkpoint format") }
        let base = try GFlowNetCheckpoint.environment(fields: fields, user: user, loadFunction: "fg_gfn_cond_load_with_env")
        let c = try GFlowNetCheckpoint.configuration(fields)
        guard supportedObjectives.contains(c.objective), c.maxRolloutSteps == 0 else {
            throw FlowIOError.corrupt("checkpoint objective \(c.objective.name) is not one of a conditional GFlowNet")
        }
        let conditionDim = try fields.integer("condition_dim", as: Int.self), hidden = try fields.integer("log_z_hidden", as: Int.self)
        guard (1...4096).contains(conditionDim), (1...4096).contains(hidden) else {
            throw FlowIOError.corrupt("checkpoint condition_dim \(conditionDim) or log_z_hidden \(hidden) is out of range")
        }
        let step = try fields.integer("step", as: Int.self), trajectories = try fields.integer("trajectories", as: Int.self)
        guard step >= 0, trajectories >= 0 else { throw FlowIOError.corrupt("checkpoint counters are negative") }
        let probe = ConditionedEnvironment(base: base, conditionDimension: conditionDim) { _, _, n in [Double](repeating: 0, count: n) }
        if let problem = GFlowNetTrainer.resourceProblem(environment: probe, configuration: c) {
            throw FlowIOError.corrupt("checkpoint configuration: \(problem)")
        }
        let model = ConditionalGFlowNet(base: base, conditionDimension: conditionDim, configuration: c,
                                        logZHiddenWidth: hidden, logReward: logReward)
        try GFlowNetCheckpoint.loadWeights(model.estimator, prefix: "estimator", from: file)
        try GFlowNetCheckpoint.loadWeights(model.logZNetwork, prefix: "log_z_network", from: file)
        let slots = file.tensors.filter { $0.name.hasPrefix("optimizer.") }.map { (String($0.name.dropFirst("optimizer.".count)), $0.tensor) }
        if let problem = model.optimizer.loadStateTensors(slots, stepCount: step) { throw FlowIOError.corrupt("checkpoint \(problem)") }
        model.rng = try fields.randomGenerator()
        model.trajectoriesSeen = trajectories
        return model
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    public func save(to path: String) throws { try checkpoint().write(path) }

    /// Loads a checkpoint written by `save(to:)` (see `restore(from:logReward:environment:)`).
    public static func load(from path: String, logReward: @escaping ([Int32], [Float], Int) throws -> [Double],
                            environment: CallbackEnvironment? = nil) throws -> ConditionalGFlowNet {
        try restore(from: SafeTensorsFile.read(path), logReward: logReward, environment: environment)
    }
}
