import FlowTensor
import FlowNN

/// Checkpoint layout (safetensors, F32 only): the encoder's parameters under "encoder.*"; metadata
/// "flowgen.kind" = "nodeclass", "flowgen.format" = "1", the configuration (floats as bit patterns), the
/// node, feature and class counts of the graph it was trained on and the epochs trained. Adam's moments and
/// the dropout generator are not saved: a reloaded classifier predicts identically, and further training
/// starts Adam afresh.
extension NodeClassifier {
    static let checkpointKind = "nodeclass"

    /// The classifier as a safetensors file (parameters and configuration).
    public func checkpoint() -> SafeTensorsFile {
        let c = configuration
        var metadata: [String: String] = [
            "flowgen.kind": Self.checkpointKind, "flowgen.format": "1", "flowgen.model": c.kind.rawValue,
            "flowgen.hidden": String(c.hidden), "flowgen.layers": String(c.layers), "flowgen.epochs": String(c.epochs),
            "flowgen.seed": String(c.seed), "flowgen.normalize_features": c.normalizeFeatures ? "1" : "0",
            "flowgen.heads": String(c.heads), "flowgen.output_heads": String(c.outputHeads),
            "flowgen.weight_decay_all_layers": c.weightDecayAllLayers ? "1" : "0",
            "flowgen.virtual_node": c.virtualNode ? "1" : "0",
            "flowgen.jumping_knowledge": c.jumpingKnowledge?.rawValue ?? "none",
            "flowgen.node_count": String(graph.nodeCount), "flowgen.feature_count": String(graph.featureCount),
            "flowgen.class_count": String(graph.classCount), "flowgen.epochs_trained": String(epochsTrained),
        ]
        for (key, value) in [("dropout", c.dropout), ("learning_rate", c.learningRate), ("weight_decay", c.weightDecay)] {
            metadata["flowgen.\(key)"] = String(value.bitPattern)
        }
        return SafeTensorsFile(tensors: encoder.stateDict().map { ("encoder.\($0.name)", $0.tensor) }, metadata: metadata)
    }

    /// Rebuilds a classifier on `graph` (which must have the node, feature and class counts of the one it was
    /// saved from) from `checkpoint()`'s output. Every field is checked; a problem is `FlowIOError.corrupt`
    /// naming it.
    public static func restore(from file: SafeTensorsFile, graph: Graph) throws -> NodeClassifier {
        let fields = CheckpointMetadata(file)
        guard try fields.string("kind") == checkpointKind else {
            throw FlowIOError.corrupt("checkpoint holds a '\(file.metadata["flowgen.kind"] ?? "")' model, not a node classifier")
        }
        guard try fields.string("format") == "1" else { throw FlowIOError.corrupt("unsupported node-classifier checkpoint format") }
        let nodes = try fields.integer("node_count"), features = try fields.integer("feature_count")
        let classes = try fields.integer("class_count")
        guard nodes == graph.nodeCount, features == graph.featureCount, classes == graph.classCount else {
            throw FlowIOError.corrupt("checkpoint was saved for a graph with \(nodes) nodes, \(features) features and \(classes) classes; this one has \(graph.nodeCount), \(graph.featureCount) and \(graph.classCount)")
        }
        guard let kind = GNNKind(rawValue: try fields.string("model")) else {
            throw FlowIOError.corrupt("unknown graph layer family '\(file.metadata["flowgen.model"] ?? "")' in checkpoint")
        }
        var c = NodeClassifier.Configuration(kind: kind)
        c.hidden = try fields.integer("hidden"); c.layers = try fields.integer("layers"); c.epochs = try fields.integer("epochs")
        c.seed = try fields.integer("seed", as: UInt64.self)
        c.normalizeFeatures = try fields.integer("normalize_features", as: UInt8.self) != 0
        c.heads = try fields.integer("heads"); c.outputHeads = try fields.integer("output_heads")
        c.weightDecayAllLayers = try fields.integer("weight_decay_all_layers", as: UInt8.self) != 0
        c.virtualNode = try fields.integer("virtual_node", as: UInt8.self) != 0
        let jk = try fields.string("jumping_knowledge")
        if jk != "none" {
            guard let mode = JumpingKnowledge(rawValue: jk) else { throw FlowIOError.corrupt("unknown jumping-knowledge mode '\(jk)' in checkpoint") }
            c.jumpingKnowledge = mode
        }
        c.dropout = try fields.float("dropout"); c.learningRate = try fields.float("learning_rate"); c.weightDecay = try fields.float("weight_decay")
        let trained = try fields.integer("epochs_trained")
        guard (1...4096).contains(c.hidden), (1...16).contains(c.layers), (1...64).contains(c.heads), (1...64).contains(c.outputHeads),
              c.epochs >= 0, trained >= 0, c.learningRate.isFinite, c.weightDecay.isFinite,
              c.hidden.multipliedReportingOverflow(by: Swift.max(features, nodes) * c.heads).partialValue <= 1 << 31 else {
            throw FlowIOError.corrupt("checkpoint configuration is out of range")
        }
        let classifier: NodeClassifier
        do { classifier = try NodeClassifier(graph: graph, configuration: c) } catch let error as GraphError {
            throw FlowIOError.corrupt("checkpoint configuration: \(error.message)")
        }
        try file.requireFloat32()
        try classifier.encoder.loadCheckpointWeights(file.tensors(prefixed: "encoder."), what: "encoder weights")
        classifier.epochsTrained = trained
        return classifier
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    public func save(to path: String) throws { try checkpoint().write(path) }

    /// Loads a checkpoint written by `save(to:)` for `graph`.
    public static func load(from path: String, graph: Graph) throws -> NodeClassifier {
        try restore(from: SafeTensorsFile.read(path), graph: graph)
    }
}
