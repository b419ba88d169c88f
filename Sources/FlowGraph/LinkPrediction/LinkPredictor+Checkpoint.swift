import FlowTensor
import FlowNN

/// Checkpoint layout (safetensors, F32 only): the learned parameters under "encoder.*" (GAE's GCN stack),
/// "ncn_encoder.*" and "head.*" (NCN/NCNC), "nbfnet.*" (NBFNet), the graph the model scores on (after `fit`: the split's
/// message-passing graph) as "scoring_edges" [m, 4] = (u ≫ 16, u & 0xFFFF, v ≫ 16, v & 0xFFFF) so every id is
/// exact in F32, and metadata "flowgen.kind" = "linkpred", "flowgen.format" = "1", the configuration (floats as
/// bit patterns) and the node/feature counts of the graph it was built on.
extension LinkPredictor {
    static let checkpointKind = "linkpred"

    /// The model as a safetensors file (parameters, scoring graph and configuration; no optimizer state).
    public func checkpoint() -> SafeTensorsFile {
        let c = configuration
        var tensors: [(name: String, tensor: Tensor)] = []
        if let encoder { tensors += encoder.stateDict().map { ("encoder.\($0.name)", $0.tensor) } }
        if let ncnEncoder { tensors += ncnEncoder.stateDict().map { ("ncn_encoder.\($0.name)", $0.tensor) } }
        if let head { tensors += head.stateDict().map { ("head.\($0.name)", $0.tensor) } }
        if let nbfnet { tensors += nbfnet.model.stateDict().map { ("nbfnet.\($0.name)", $0.tensor) } }
        let g = scoringGraph
        var edges = Tensor(zeros: [g.edgeCount, 4])
        edges.withUnsafeMutableBufferPointer { p in
            for e in 0..<g.edgeCount {
                let u = g.edgeSources[e], v = g.edgeTargets[e]
                p[4 * e] = Float(u >> 16); p[4 * e + 1] = Float(u & 0xFFFF)
                p[4 * e + 2] = Float(v >> 16); p[4 * e + 3] = Float(v & 0xFFFF)
            }
        }
        tensors.append(("scoring_edges", edges))
        let floats: [(String, Float)] = [
            ("learning_rate", c.learningRate), ("dropout", c.dropout), ("input_dropout", c.inputDropout),
            ("predictor_edge_dropout", c.predictorEdgeDropout), ("predictor_lr_scale", c.predictorLearningRateScale),
            ("hidden_dropout", c.hiddenDropout), ("predictor_dropout", c.predictorDropout),
            ("completion_scale", c.completionScale), ("completion_offset", c.completionOffset),
            ("completion_alpha", c.completionAlpha), ("completion_prior", c.completionPrior),
        ]
        var metadata: [String: String] = [
            "flowgen.kind": Self.checkpointKind, "flowgen.format": "1", "flowgen.model": c.model.rawValue,
            "flowgen.hidden": String(c.hidden), "flowgen.output_width": String(c.outputWidth), "flowgen.layers": String(c.layers), "flowgen.epochs": String(c.epochs),
            "flowgen.batch_size": String(c.batchSize), "flowgen.seed": String(c.seed), "flowgen.hits_k": String(c.hitsK),
            "flowgen.target_link_removal": c.targetLinkRemoval ? "1" : "0", "flowgen.split_protocol": c.splitProtocol.rawValue,
            "flowgen.train_candidate_degree": String(c.trainCandidateDegree),
            "flowgen.test_candidate_degree": String(c.testCandidateDegree),
            "flowgen.node_count": String(graph.nodeCount), "flowgen.feature_count": String(graph.featureCount),
        ]
        for (key, value) in floats { metadata["flowgen.\(key)"] = String(value.bitPattern) }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Rebuilds a predictor on `graph` (which must have the node and feature counts of the one it was saved
    /// from) from `checkpoint()`'s output. Every field is checked; a problem is `FlowIOError.corrupt` naming it.
    public static func restore(from file: SafeTensorsFile, graph: Graph) throws -> LinkPredictor {
        let fields = CheckpointMetadata(file)
        guard try fields.string("kind") == checkpointKind else {
            throw FlowIOError.corrupt("checkpoint holds a '\(file.metadata["flowgen.kind"] ?? "")' model, not a link predictor")
        }
        guard try fields.string("format") == "1" else { throw FlowIOError.corrupt("unsupported link-predictor checkpoint format") }
        guard let model = LinkModelKind(rawValue: try fields.string("model")) else {
            throw FlowIOError.corrupt("unknown link-prediction model '\(file.metadata["flowgen.model"] ?? "")' in checkpoint")
        }
        let nodes = try fields.integer("node_count", as: Int.self), features = try fields.integer("feature_count", as: Int.self)
        guard nodes == graph.nodeCount, features == graph.featureCount else {
            throw FlowIOError.corrupt("checkpoint was saved for a graph with \(nodes) nodes and \(features) features; this one has \(graph.nodeCount) and \(graph.featureCount)")
        }
        var c = Configuration(model: model)
        c.hidden = try fields.integer("hidden"); c.outputWidth = try fields.integer("output_width"); c.layers = try fields.integer("layers"); c.epochs = try fields.integer("epochs")
        c.batchSize = try fields.integer("batch_size"); c.seed = try fields.integer("seed", as: UInt64.self)
        c.hitsK = try fields.integer("hits_k")
        c.targetLinkRemoval = try fields.integer("target_link_removal", as: UInt8.self) != 0
        if let name = file.metadata["flowgen.split_protocol"] {   // absent in checkpoints written before it existed
            guard let value = LinkSplitProtocol(rawValue: name) else { throw FlowIOError.corrupt("unknown split protocol '\(name)' in checkpoint") }
            c.splitProtocol = value
        }
        c.trainCandidateDegree = try fields.integer("train_candidate_degree")
        c.testCandidateDegree = try fields.integer("test_candidate_degree")
        c.learningRate = try fields.float("learning_rate"); c.dropout = try fields.float("dropout")
        c.inputDropout = try fields.float("input_dropout"); c.predictorEdgeDropout = try fields.float("predictor_edge_dropout")
        c.predictorLearningRateScale = try fields.float("predictor_lr_scale"); c.hiddenDropout = try fields.float("hidden_dropout")
        c.predictorDropout = try fields.float("predictor_dropout"); c.completionScale = try fields.float("completion_scale")
        c.completionOffset = try fields.float("completion_offset"); c.completionAlpha = try fields.float("completion_alpha")
        c.completionPrior = try fields.float("completion_prior")
        guard c.hidden <= 4096, c.outputWidth <= 4096, c.hidden.multipliedReportingOverflow(by: Swift.max(features, nodes)).partialValue <= 1 << 31 else {
            throw FlowIOError.corrupt("checkpoint hidden width \(c.hidden) is out of range")
        }
        let predictor: LinkPredictor
        do { predictor = try LinkPredictor(graph: graph, configuration: c) } catch let error as GraphError {
            throw FlowIOError.corrupt("checkpoint configuration: \(error.message)")
        }
        try file.requireFloat32()
        let modules: [(String, Module?)] = [("encoder.", predictor.encoder), ("ncn_encoder.", predictor.ncnEncoder),
                                            ("head.", predictor.head), ("nbfnet.", predictor.nbfnet?.model)]
        for (prefix, module) in modules {
            try module?.loadCheckpointWeights(file.tensors(prefixed: prefix), what: "\(prefix)* weights")
        }
        guard let edges = file.tensor(named: "scoring_edges"), edges.rank == 2, edges.shape[1] == 4 else {
            throw FlowIOError.corrupt("checkpoint lacks 'scoring_edges' [m, 4]")
        }
        var sources: [Int] = [], targets: [Int] = []
        sources.reserveCapacity(edges.shape[0]); targets.reserveCapacity(edges.shape[0])
        let ids = edges.scalars
        func id(_ hi: Float, _ lo: Float) throws -> Int {
            guard hi >= 0, lo >= 0, lo < 65536, hi < 65536, hi == hi.rounded(), lo == lo.rounded() else {
                throw FlowIOError.corrupt("checkpoint 'scoring_edges' holds a value that is not a 16-bit integer")
            }
            let v = Int(hi) << 16 | Int(lo)
            guard v < nodes else { throw FlowIOError.corrupt("checkpoint 'scoring_edges' names node \(v) of \(nodes)") }
            return v
        }
        for e in 0..<edges.shape[0] {
            sources.append(try id(ids[4 * e], ids[4 * e + 1])); targets.append(try id(ids[4 * e + 2], ids[4 * e + 3]))
        }
        predictor.scoringGraph = try graph.withEdges(sources: sources, targets: targets)
        predictor.nbfnet?.scoringGraph = predictor.scoringGraph
        predictor.scoringOperator = nil
        return predictor
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    public func save(to path: String) throws { try checkpoint().write(path) }

    /// Loads a checkpoint written by `save(to:)` for `graph`.
    public static func load(from path: String, graph: Graph) throws -> LinkPredictor {
        try restore(from: SafeTensorsFile.read(path), graph: graph)
    }
}
