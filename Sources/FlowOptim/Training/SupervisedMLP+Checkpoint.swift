import FlowTensor
import FlowAutodiff
import FlowNN

/// Checkpoint layout (safetensors): parameters under their module names ("layers.0.weight" [out, in],
/// "layers.0.bias" [out]), optimizer slots under "optimizer.g<group>.p<param>.s<slot>", and metadata
/// keys "flowgen.kind" = "mlp", "flowgen.format" = "1", widths, options, step and the RNG state words.
extension SupervisedMLP {
    static let kind = "mlp"

    /// The complete state as a safetensors file.
    public func checkpoint() -> SafeTensorsFile {
        let c = configuration
        var tensors = network.stateDict()
        tensors += optimizer.stateTensors().map { ("optimizer.\($0.name)", $0.tensor) }
        let metadata: [String: String] = [
            "flowgen.kind": Self.kind,
            "flowgen.format": "1",
            "flowgen.widths": c.widths.map(String.init).joined(separator: ","),
            "flowgen.activation": c.activation.rawValue,
            "flowgen.task": String(c.task.rawValue),
            "flowgen.optimizer": String(c.optimizer.rawValue),
            "flowgen.seed": String(c.seed),
            "flowgen.learning_rate": String(c.learningRate.bitPattern),
            "flowgen.weight_decay": String(c.weightDecay.bitPattern),
            "flowgen.grad_clip_norm": String(c.gradientClipNorm.bitPattern),
            "flowgen.batch_size": String(c.batchSize),
            "flowgen.step": String(optimizer.stepCount),
            "flowgen.rng": rng.stateWords.map(String.init).joined(separator: ","),
        ]
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Rebuilds a model from `checkpoint()`'s output; every field is checked and a problem is reported
    /// as `FlowIOError.corrupt` naming it.
    public static func restore(from file: SafeTensorsFile) throws -> SupervisedMLP {
        let meta = file.metadata
        let fields = CheckpointMetadata(file)
        guard try fields.string("kind") == kind else {
            throw FlowIOError.corrupt("checkpoint holds a '\(meta["flowgen.kind"] ?? "")' model, not an MLP")
        }
        guard try fields.string("format") == "1" else { throw FlowIOError.corrupt("unsupported MLP checkpoint format \(meta["flowgen.format"] ?? "")") }
        let widths = try fields.string("widths").split(separator: ",").map { part -> Int in
            guard let w = Int(part), w > 0, w <= 1 << 20 else { throw FlowIOError.corrupt("checkpoint widths '\(meta["flowgen.widths"] ?? "")' are invalid") }
            return w
        }
        guard widths.count >= 2 else { throw FlowIOError.corrupt("checkpoint needs at least two widths") }
        var c = Configuration(widths: widths)
        guard let act = ActivationKind(rawValue: try fields.string("activation")) else {
            throw FlowIOError.corrupt("unknown activation '\(meta["flowgen.activation"] ?? "")' in checkpoint")
        }
        c.activation = act
        guard let task = Task(rawValue: try fields.integer("task", as: UInt32.self)) else { throw FlowIOError.corrupt("unknown task in checkpoint") }
        c.task = task
        guard let opt = OptimizerKind(rawValue: try fields.integer("optimizer", as: UInt32.self)) else { throw FlowIOError.corrupt("unknown optimizer in checkpoint") }
        c.optimizer = opt
        c.seed = try fields.integer("seed", as: UInt64.self)
        c.learningRate = try fields.float("learning_rate")
        c.weightDecay = try fields.float("weight_decay")
        c.gradientClipNorm = try fields.float("grad_clip_norm")
        c.batchSize = try fields.integer("batch_size", as: Int.self)
        guard c.learningRate.isFinite, c.learningRate > 0, c.weightDecay.isFinite, c.weightDecay >= 0,
              c.gradientClipNorm.isFinite, c.gradientClipNorm >= 0, c.batchSize >= 0 else {
            throw FlowIOError.corrupt("checkpoint options are out of range")
        }
        let step = try fields.integer("step", as: Int.self)
        guard step >= 0 else { throw FlowIOError.corrupt("checkpoint step is negative") }
        let savedRNG = try fields.randomGenerator()

        try file.requireFloat32()
        let model = SupervisedMLP(c)
        try model.network.loadCheckpointWeights(file.tensors.filter { !$0.name.hasPrefix("optimizer.") })
        let slots = file.tensors.filter { $0.name.hasPrefix("optimizer.") }
            .map { (String($0.name.dropFirst("optimizer.".count)), $0.tensor) }
        if let problem = model.optimizer.loadStateTensors(slots, stepCount: step) {
            throw FlowIOError.corrupt("checkpoint \(problem)")
        }
        model.rng = savedRNG
        return model
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    public func save(to path: String) throws { try checkpoint().write(path) }

    /// Loads a checkpoint written by `save(to:)`.
    public static func load(from path: String) throws -> SupervisedMLP {
        try restore(from: SafeTensorsFile.read(path))
    }
}
