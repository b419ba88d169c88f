import FlowTensor
import FlowNN
import FlowOptim

/// Checkpoint layout (safetensors): the velocity MLP under "layers.<i>.weight" [out, in] /
/// "layers.<i>.bias" (input = [x, t]), AdamW slots under "optimizer.g0.p<param>.s<slot>", and metadata
/// "flowgen.kind" = "flow_matcher", "flowgen.format" = "1", options (floats as IEEE-754 bit patterns),
/// step, RNG state words, whether the source is N(0, I), and (optional, absent in older files) the
/// number of classes (the input is then [x, t, onehot(c)]), label dropout and the β schedule.
extension FlowMatcher {
    static let kind = "flow_matcher"

    public func checkpoint() -> SafeTensorsFile {
        let c = configuration
        var tensors = model.stateDict()
        tensors += optimizer.stateTensors().map { ("optimizer.\($0.name)", $0.tensor) }
        let metadata: [String: String] = [
            "flowgen.kind": Self.kind, "flowgen.format": "1",
            "flowgen.dim": String(c.dim), "flowgen.method": c.method.name,
            "flowgen.sigma": String(c.sigma.bitPattern),
            "flowgen.hidden_width": String(c.hiddenWidth), "flowgen.hidden_layers": String(c.hiddenLayers),
            "flowgen.activation": c.activation.rawValue,
            "flowgen.learning_rate": String(c.learningRate.bitPattern),
            "flowgen.weight_decay": String(c.weightDecay.bitPattern),
            "flowgen.grad_clip_norm": String(c.gradientClipNorm.bitPattern),
            "flowgen.batch_size": String(c.batchSize), "flowgen.seed": String(c.seed),
            "flowgen.step": String(optimizer.stepCount),
            "flowgen.rng": rng.stateWords.map(String.init).joined(separator: ","),
            "flowgen.source_standard_normal": sourceIsStandardNormal ? "1" : "0",
            "flowgen.num_classes": String(c.numClasses),
            "flowgen.label_dropout": String(c.labelDropout.bitPattern),
            "flowgen.beta_min": String(c.betaMin.bitPattern), "flowgen.beta_max": String(c.betaMax.bitPattern),
        ]
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Rebuilds a matcher from `checkpoint()`; every field is checked (`FlowIOError.corrupt` names it).
    public static func restore(from file: SafeTensorsFile) throws -> FlowMatcher {
        let meta = file.metadata
        let fields = CheckpointMetadata(file)
        guard try fields.string("kind") == kind else {
            throw FlowIOError.corrupt("checkpoint holds a '\(meta["flowgen.kind"] ?? "")' model, not a flow matcher")
        }
        guard try fields.string("format") == "1" else { throw FlowIOError.corrupt("unsupported flow-matcher checkpoint format") }
        var c = FlowMatcher.Configuration(dim: try fields.integer("dim", as: Int.self))
        let methodName = try fields.string("method")
        guard let method = Method.allCases.first(where: { $0.name == methodName }) else {
            throw FlowIOError.corrupt("unknown method '\(methodName)' in checkpoint")
        }
        c.method = method
        c.sigma = try fields.float("sigma")
        c.hiddenWidth = try fields.integer("hidden_width", as: Int.self)
        c.hiddenLayers = try fields.integer("hidden_layers", as: Int.self)
        guard let act = ActivationKind(rawValue: try fields.string("activation")) else {
            throw FlowIOError.corrupt("unknown activation in checkpoint")
        }
        c.activation = act
        c.learningRate = try fields.float("learning_rate")
        c.weightDecay = try fields.float("weight_decay")
        c.gradientClipNorm = try fields.float("grad_clip_norm")
        c.batchSize = try fields.integer("batch_size", as: Int.self)
        c.seed = try fields.integer("seed", as: UInt64.self)
        // Added after format 1 shipped: absent in older checkpoints (= defaults).
        if meta["flowgen.num_classes"] != nil { c.numClasses = try fields.integer("num_classes", as: Int.self) }
        if meta["flowgen.label_dropout"] != nil { c.labelDropout = try fields.float("label_dropout") }
        if meta["flowgen.beta_min"] != nil { c.betaMin = try fields.float("beta_min") }
        if meta["flowgen.beta_max"] != nil { c.betaMax = try fields.float("beta_max") }
        if let problem = c.problem { throw FlowIOError.corrupt("checkpoint options: \(problem)") }
        // Refuse sizes that would make rebuilding the network itself fail (before any allocation).
        let weights = (c.dim + 1 + c.numClasses) * c.hiddenWidth + c.hiddenWidth * c.dim + (c.hiddenLayers - 1) * c.hiddenWidth * c.hiddenWidth
        guard weights <= 1 << 28 else { throw FlowIOError.corrupt("checkpoint describes a network of \(weights) weights (limit 2^28)") }
        let step = try fields.integer("step", as: Int.self)
        guard step >= 0 else { throw FlowIOError.corrupt("checkpoint step is negative") }
        let savedRNG = try fields.randomGenerator()
        let sourceFlag = try fields.string("source_standard_normal")
        guard sourceFlag == "0" || sourceFlag == "1" else { throw FlowIOError.corrupt("bad source flag in checkpoint") }

        let matcher = FlowMatcher(c)
        try matcher.model.loadCheckpointWeights(file.tensors.filter { !$0.name.hasPrefix("optimizer.") })
        let slots = file.tensors.filter { $0.name.hasPrefix("optimizer.") }
            .map { (String($0.name.dropFirst("optimizer.".count)), $0.tensor) }
        if let problem = matcher.optimizer.loadStateTensors(slots, stepCount: step) {
            throw FlowIOError.corrupt("checkpoint \(problem)")
        }
        matcher.rng = savedRNG
        matcher.sourceIsStandardNormal = sourceFlag == "1"
        return matcher
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    public func save(to path: String) throws { try checkpoint().write(path) }

    /// Loads a checkpoint written by `save(to:)`.
    public static func load(from path: String) throws -> FlowMatcher { try restore(from: SafeTensorsFile.read(path)) }
}
