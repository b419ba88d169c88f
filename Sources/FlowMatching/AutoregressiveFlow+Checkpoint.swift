import FlowTensor
import FlowNN
import FlowOptim

/// Checkpoint layout (safetensors): the MADE weights under "blocks.<b>.layers.<l>.weight" [out, in] / ".bias"
/// (unmasked values; the masks follow from the sizes), Adam slots under "optimizer.g0.p<param>.s<slot>", and
/// metadata "flowgen.kind" = "maf", "flowgen.format" = "1", the options (floats as IEEE-754 bit patterns), the
/// step and the generator state: training resumes exactly.
extension MaskedAutoregressiveFlow {
    static let kind = "maf"

    public func checkpoint() -> SafeTensorsFile {
        let c = configuration
        var tensors = stateDict()
        tensors += optimizer.stateTensors().map { ("optimizer.\($0.name)", $0.tensor) }
        let metadata: [String: String] = [
            "flowgen.kind": Self.kind, "flowgen.format": "1", "flowgen.dim": String(c.dim), "flowgen.blocks": String(c.blocks),
            "flowgen.hidden_width": String(c.hiddenWidth), "flowgen.hidden_layers": String(c.hiddenLayers),
            "flowgen.learning_rate": String(c.learningRate.bitPattern), "flowgen.batch_size": String(c.batchSize),
            "flowgen.seed": String(c.seed), "flowgen.log_scale_bound": String(c.logScaleBound.bitPattern),
            "flowgen.step": String(optimizer.stepCount), "flowgen.rng": rng.stateWords.map(String.init).joined(separator: ","),
        ]
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Rebuilds a flow from `checkpoint()`; every field is checked (`FlowIOError.corrupt` names it).
    public static func restore(from file: SafeTensorsFile) throws -> MaskedAutoregressiveFlow {
        let fields = CheckpointMetadata(file)
        guard try fields.string("kind") == kind else {
            throw FlowIOError.corrupt("checkpoint holds a '\(file.metadata["flowgen.kind"] ?? "")' model, not a masked autoregressive flow")
        }
        guard try fields.string("format") == "1" else { throw FlowIOError.corrupt("unsupported MAF checkpoint format") }
        var c = Configuration(dim: try fields.integer("dim"))
        c.blocks = try fields.integer("blocks"); c.hiddenWidth = try fields.integer("hidden_width")
        c.hiddenLayers = try fields.integer("hidden_layers"); c.learningRate = try fields.float("learning_rate")
        c.batchSize = try fields.integer("batch_size"); c.seed = try fields.integer("seed", as: UInt64.self)
        c.logScaleBound = try fields.float("log_scale_bound")
        if let problem = c.problem { throw FlowIOError.corrupt("checkpoint options: \(problem)") }
        let step = try fields.integer("step")
        guard step >= 0 else { throw FlowIOError.corrupt("checkpoint step is negative") }
        let savedRNG = try fields.randomGenerator()
        try file.requireFloat32()
        let flow = MaskedAutoregressiveFlow(c)
        try flow.loadCheckpointWeights(file.tensors.filter { !$0.name.hasPrefix("optimizer.") })
        if let problem = flow.optimizer.loadStateTensors(file.tensors(prefixed: "optimizer."), stepCount: step) {
            throw FlowIOError.corrupt("checkpoint \(problem)")
        }
        flow.rng = savedRNG
        return flow
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    public func save(to path: String) throws { try checkpoint().write(path) }

    /// Loads a checkpoint written by `save(to:)`.
    public static func load(from path: String) throws -> MaskedAutoregressiveFlow { try restore(from: SafeTensorsFile.read(path)) }
}
