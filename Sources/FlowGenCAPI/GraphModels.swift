import CFlowGenABI
import FlowGen

// fg_linkpred_* and fg_nodeclass_* (graph section of include/flowgen.h).

/// An older layout of a params struct that grew: its `struct_size` and how many of its bytes are fields
/// (the offset of the first field added after it; the rest is trailing padding).
struct OlderParamsLayout { let size: Int, bytes: Int }

/// The older layout ending just before `field` (its size rounded up to the struct's 8-byte alignment).
func olderLayout<P>(before field: PartialKeyPath<P>) -> OlderParamsLayout {
    let bytes = MemoryLayout<P>.offset(of: field) ?? 0
    return OlderParamsLayout(size: (bytes + 7) / 8 * 8, bytes: bytes)
}

/// fg_linkpred_params before the NCN/NCNC fields were appended, and before `split_protocol`.
let olderLinkPredParams = [olderLayout(before: \fg_linkpred_params.hidden_dropout),
                           olderLayout(before: \fg_linkpred_params.split_protocol)]
/// fg_linkpred_report without test_ap (48 bytes), without val_auroc (56 bytes), and the current size.
let knownLinkPredReportSizes = [MemoryLayout<fg_linkpred_report>.offset(of: \fg_linkpred_report.test_ap)!,
                                MemoryLayout<fg_linkpred_report>.offset(of: \fg_linkpred_report.val_auroc)!,
                                MemoryLayout<fg_linkpred_report>.size]
/// fg_nodeclass_params before `heads`, `virtual_node` and `jumping_knowledge` were appended.
let olderNodeClassParams = [olderLayout(before: \fg_nodeclass_params.heads)]

/// FG_LINKPRED_* codes in order (nil = a code not implemented in this build).
let linkModelByCode: [LinkModelKind?] = [.cn, .aa, .ra, .gae, .ncn, .ncnc, .nbfnet]
/// FG_GNN_* codes in order.
let gnnKindByCode: [GNNKind] = [.gcn, .sage, .gin, .gat]
/// FG_JK_* codes in order (nil = none).
let jumpingKnowledgeByCode: [JumpingKnowledge?] = [nil, .last, .concat, .max]

/// Reads caller params of the current or an `older` layout over `defaults`: fields the caller's (older) layout
/// lacks keep their defaults. The size is checked before anything beyond the first field is read.
func readVersionedParams<P>(_ params: UnsafePointer<P>?, defaults: P, older: [OlderParamsLayout]) throws -> P {
    var p = defaults
    guard let params else { return p }
    let declared = Int(UnsafeRawPointer(params).load(as: UInt32.self))
    try checkStructSize(UInt32(declared), known: older.map(\.size) + [MemoryLayout<P>.size], name: "params")
    let bytes = declared == MemoryLayout<P>.size ? declared : older.first(where: { $0.size == declared })?.bytes ?? 4
    withUnsafeMutableBytes(of: &p) { dst in
        dst.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(params), count: bytes))
        dst.storeBytes(of: UInt32(MemoryLayout<P>.size), as: UInt32.self)   // struct_size is the first field
    }
    return p
}

func readNodeClassParams(_ params: UnsafePointer<fg_nodeclass_params>?) throws -> fg_nodeclass_params {
    try readVersionedParams(params, defaults: fg_nodeclass_default_params(), older: olderNodeClassParams)
}

@_cdecl("fg_linkpred_default_params")
public func fg_linkpred_default_params() -> fg_linkpred_params {
    let c = LinkPredictor.Configuration()
    var p = fg_linkpred_params()
    p.struct_size = UInt32(MemoryLayout<fg_linkpred_params>.size)
    p.model = UInt32(FG_LINKPRED_CN)
    p.hidden = UInt32(c.hidden)
    p.layers = 0
    p.learning_rate = 0
    p.dropout = c.dropout
    p.epochs = UInt32(c.epochs)
    p.input_dropout = -1
    p.batch_size = UInt32(c.batchSize)
    p.seed = 0
    p.hits_k = UInt32(c.hitsK)
    p.target_link_removal = 1
    p.hidden_dropout = -1
    p.predictor_dropout = -1
    p.predictor_edge_dropout = -1
    p.predictor_learning_rate = 0
    p.custom_completion = 0
    p.completion = (c.completionScale, c.completionOffset, c.completionAlpha, c.completionPrior)
    p.train_candidates = 0
    p.test_candidates = 0
    p.split_protocol = UInt32(FG_LINKPRED_SPLIT_NCN)
    return p
}

func linkPredHandle(_ lp: OpaquePointer?) throws -> LinkPredictor {
    guard let lp else { throw CAPIError.null("lp") }
    return Unmanaged<LinkPredictor>.fromOpaque(UnsafeRawPointer(lp)).takeUnretainedValue()
}

@_cdecl("fg_linkpred_create")
public func fg_linkpred_create(_ graph: OpaquePointer?, _ params: UnsafePointer<fg_linkpred_params>?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return graphCall("fg_linkpred_create") {
        guard let out else { throw CAPIError.null("out") }
        let g = try graphBox(graph).graph
        let p = try readVersionedParams(params, defaults: fg_linkpred_default_params(), older: olderLinkPredParams)
        guard Int(p.model) < linkModelByCode.count, let model = linkModelByCode[Int(p.model)] else {
            throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.model = \(p.model) is not an FG_LINKPRED_* value")
        }
        var c = LinkPredictor.Configuration(model: model)
        guard p.hidden >= 1, p.hidden <= 4096 else { throw CAPIError.invalid("params.hidden must be in 1 … 4096, got \(p.hidden)") }
        guard p.layers <= 16 else { throw CAPIError.invalid("params.layers must be in 0 … 16, got \(p.layers)") }
        guard p.learning_rate.isFinite, p.learning_rate >= 0 else {
            throw CAPIError.invalid("params.learning_rate must be finite and > 0 (0 = model default), got \(p.learning_rate)")
        }
        guard p.dropout.isFinite, p.dropout >= 0, p.dropout < 1 else {
            throw CAPIError.invalid("params.dropout must be in [0, 1), got \(p.dropout)")
        }
        guard p.input_dropout.isFinite, p.input_dropout < 1 else {
            throw CAPIError.invalid("params.input_dropout must be < 1 (negative = model default), got \(p.input_dropout)")
        }
        guard p.hits_k >= 1 else { throw CAPIError.invalid("params.hits_k must be ≥ 1") }
        guard p.epochs <= 1_000_000 else { throw CAPIError.invalid("params.epochs must be ≤ 1000000, got \(p.epochs)") }
        c.hidden = Int(p.hidden)
        if p.layers > 0 { c.layers = Int(p.layers) }
        if p.learning_rate > 0 { c.learningRate = p.learning_rate }
        if p.input_dropout >= 0 { c.inputDropout = p.input_dropout }
        c.dropout = p.dropout
        c.epochs = Int(p.epochs)
        c.batchSize = Int(p.batch_size)
        c.seed = p.seed
        c.hitsK = Int(p.hits_k)
        c.targetLinkRemoval = p.target_link_removal != 0
        try applyNCNParams(p, to: &c)
        let protocols: [LinkSplitProtocol] = [.ncn, .random]   // FG_LINKPRED_SPLIT_* codes in order
        guard Int(p.split_protocol) < protocols.count else {
            throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.split_protocol = \(p.split_protocol) is not an FG_LINKPRED_SPLIT_* value")
        }
        c.splitProtocol = protocols[Int(p.split_protocol)]
        if c.model.isLearned {
            guard g.featureCount > 0 else { throw CAPIError.invalid("model \(c.model.rawValue) needs node features; the graph has none") }
            let (weights, overflow) = g.featureCount.multipliedReportingOverflow(by: c.hidden)
            guard !overflow, weights <= 1 << 31, g.nodeCount * c.hidden <= 1 << 31 else {
                throw CAPIError(status: FG_ERR_OUT_OF_MEMORY,
                                message: "n_features × hidden = \(g.featureCount) × \(c.hidden) weights or n_nodes × hidden = \(g.nodeCount) × \(c.hidden) embeddings are too many (limit 2^31)")
            }
        }
        if c.model == .nbfnet {
            guard p.hidden <= 1024 else { throw CAPIError.invalid("params.hidden (the NBFNet state width) must be in 1 … 1024, got \(p.hidden)") }
            let batch = c.batchSize == 0 ? 64 : min(c.batchSize, 64)
            let runs = min(4 * batch, 64)   // Bellman–Ford runs per pass (up to 4 per positive, passes of ≤ 64)
            let (state, overflow) = g.nodeCount.multipliedReportingOverflow(by: runs * c.hidden * c.layers)
            guard !overflow, state <= 1 << 25 else {   // ≈ 90 bytes per state element while training: ≤ 3 GB
                throw CAPIError(status: FG_ERR_OUT_OF_MEMORY,
                                message: "NBFNet would hold n_nodes × runs per pass × hidden × layers = \(g.nodeCount) × \(runs) × \(c.hidden) × \(c.layers) state elements (limit 2^25, about 3 GB while training)")
            }
        }
        let predictor = try LinkPredictor(graph: g, configuration: c)
        out.pointee = OpaquePointer(Unmanaged.passRetained(predictor).toOpaque())
    }
}

@_cdecl("fg_linkpred_free")
public func fg_linkpred_free(_ lp: OpaquePointer?) {
    guard let lp else { return }
    Unmanaged<LinkPredictor>.fromOpaque(UnsafeRawPointer(lp)).release()
}

@_cdecl("fg_linkpred_fit")
public func fg_linkpred_fit(_ lp: OpaquePointer?, _ splitSeed: UInt64, _ progress: fg_progress_fn?,
                            _ userData: UnsafeMutableRawPointer?, _ report: UnsafeMutablePointer<fg_linkpred_report>?) -> fg_status {
    graphCall("fg_linkpred_fit") {
        let predictor = try linkPredHandle(lp)
        if let report { try checkStructSize(report.pointee.struct_size, known: knownLinkPredReportSizes, name: "report") }
        var callback: ((Int, Int, Float) -> Bool)? = nil
        if let progress {
            callback = { step, total, loss in progress(UInt64(step), UInt64(total), loss, userData) == 0 }
        }
        let r = try predictor.fit(splitSeed: splitSeed, progress: callback)
        if let report {
            report.pointee.best_epoch = UInt32(clamping: r.bestEpoch)
            report.pointee.val_hits = r.validationHits
            report.pointee.test_hits = r.testHits
            report.pointee.test_mrr = r.testMRR
            report.pointee.test_auroc = r.testAUROC
            report.pointee.epoch_seconds = r.epochSeconds
            let size = Int(report.pointee.struct_size)
            if size >= knownLinkPredReportSizes[1] { report.pointee.test_ap = r.testAP }
            if size >= MemoryLayout<fg_linkpred_report>.size { report.pointee.val_auroc = r.validationAUROC }
        }
    }
}

@_cdecl("fg_linkpred_score")
public func fg_linkpred_score(_ lp: OpaquePointer?, _ pairs: UnsafePointer<Int64>?, _ nPairs: Int,
                              _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                              _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    graphCall("fg_linkpred_score") {
        let predictor = try linkPredHandle(lp)
        guard nPairs > 0 else { throw CAPIError.invalid("n_pairs must be positive (got \(nPairs < 0 ? "a value ≥ 2^63" : "0"))") }
        if dst == nil || dstLength < nPairs {
            outLength?.pointee = nPairs
            if dst == nil {
                guard outLength != nil else { throw CAPIError.null("dst and out_len (one is needed)") }
                return
            }
            throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "dst holds \(dstLength < 0 ? "?" : String(dstLength)) floats, \(nPairs) are needed")
        }
        let p = try nodePairsArgument(pairs, count: nPairs, nodeCount: predictor.graph.nodeCount, name: "pairs")
        let scores = predictor.scores(p)
        try writeOutput(Tensor(shape: [scores.count], scalars: scores), dst: dst, dstLength: dstLength, outLength: outLength)
    }
}

@_cdecl("fg_linkpred_evaluate")
public func fg_linkpred_evaluate(_ lp: OpaquePointer?, _ positives: UnsafePointer<Int64>?, _ nPos: Int,
                                 _ negatives: UnsafePointer<Int64>?, _ nNeg: Int, _ k: UInt32,
                                 _ outHits: UnsafeMutablePointer<Double>?, _ outMRR: UnsafeMutablePointer<Double>?,
                                 _ outAUROC: UnsafeMutablePointer<Double>?) -> fg_status {
    graphCall("fg_linkpred_evaluate") {
        let predictor = try linkPredHandle(lp)
        let n = predictor.graph.nodeCount
        let pos = try nodePairsArgument(positives, count: nPos, nodeCount: n, name: "positives")
        let neg = try nodePairsArgument(negatives, count: nNeg, nodeCount: n, name: "negatives")
        guard k >= 1 else { throw CAPIError.invalid("k must be ≥ 1") }
        guard Int(k) <= nNeg else { throw CAPIError.invalid("k = \(k) is larger than the number of negatives (\(nNeg))") }
        let r = try predictor.evaluate(positives: pos, negatives: neg, k: Int(k))
        outHits?.pointee = r.hits
        outMRR?.pointee = r.mrr
        outAUROC?.pointee = r.auroc
    }
}

// MARK: node classification

@_cdecl("fg_nodeclass_default_params")
public func fg_nodeclass_default_params() -> fg_nodeclass_params {
    let c = NodeClassifier.Configuration()
    var p = fg_nodeclass_params()
    p.struct_size = UInt32(MemoryLayout<fg_nodeclass_params>.size)
    p.model = UInt32(FG_GNN_GCN)
    p.hidden = UInt32(c.hidden)
    p.layers = UInt32(c.layers)
    p.learning_rate = c.learningRate
    p.weight_decay = c.weightDecay
    p.dropout = c.dropout
    p.epochs = UInt32(c.epochs)
    p.seed = 0
    p.normalize_features = 1
    p.heads = 0
    p.virtual_node = 0
    p.jumping_knowledge = UInt32(FG_JK_NONE)
    return p
}

func nodeClassHandle(_ nc: OpaquePointer?) throws -> NodeClassifier {
    guard let nc else { throw CAPIError.null("nc") }
    return Unmanaged<NodeClassifier>.fromOpaque(UnsafeRawPointer(nc)).takeUnretainedValue()
}

@_cdecl("fg_nodeclass_create")
public func fg_nodeclass_create(_ graph: OpaquePointer?, _ params: UnsafePointer<fg_nodeclass_params>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return graphCall("fg_nodeclass_create") {
        guard let out else { throw CAPIError.null("out") }
        let g = try graphBox(graph).graph
        let p = try readNodeClassParams(params)
        guard Int(p.model) < gnnKindByCode.count else {
            throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.model = \(p.model) is not an FG_GNN_* value")
        }
        guard p.hidden >= 1, p.hidden <= 4096 else { throw CAPIError.invalid("params.hidden must be in 1 … 4096, got \(p.hidden)") }
        guard p.layers >= 1, p.layers <= 16 else { throw CAPIError.invalid("params.layers must be in 1 … 16, got \(p.layers)") }
        guard p.learning_rate.isFinite, p.learning_rate > 0 else {
            throw CAPIError.invalid("params.learning_rate must be finite and > 0, got \(p.learning_rate)")
        }
        guard p.weight_decay.isFinite, p.weight_decay >= 0 else {
            throw CAPIError.invalid("params.weight_decay must be finite and ≥ 0, got \(p.weight_decay)")
        }
        guard p.dropout.isFinite, p.dropout >= 0, p.dropout < 1 else {
            throw CAPIError.invalid("params.dropout must be in [0, 1), got \(p.dropout)")
        }
        guard p.epochs <= 1_000_000 else { throw CAPIError.invalid("params.epochs must be ≤ 1000000") }
        guard Int(p.jumping_knowledge) < jumpingKnowledgeByCode.count else {
            throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.jumping_knowledge = \(p.jumping_knowledge) is not an FG_JK_* value")
        }
        guard p.heads <= 64 else { throw CAPIError.invalid("params.heads must be in 0 … 64 (0 = 8), got \(p.heads)") }
        guard p.virtual_node == 0 || p.layers >= 2 else {
            throw CAPIError.invalid("params.virtual_node needs layers ≥ 2 (the virtual node acts between layers), got \(p.layers)")
        }
        guard g.featureCount > 0 else { throw CAPIError.invalid("node classification needs node features; the graph has none") }
        guard g.labels != nil else { throw CAPIError.invalid("node classification needs labels; the graph has none") }
        guard g.classCount <= 1 << 20 else { throw CAPIError.invalid("labels must be < 2^20 (got \(g.classCount - 1))") }
        let kind = gnnKindByCode[Int(p.model)]
        let heads = p.heads == 0 ? 8 : Int(p.heads)
        let width = kind == .gat ? Int(p.hidden) * heads : Int(p.hidden)
        let (weights, overflow) = g.featureCount.multipliedReportingOverflow(by: width)
        let widest = max(width * Int(p.layers), g.classCount)
        guard !overflow, weights <= 1 << 31, g.nodeCount * widest <= 1 << 31, width * Int(p.layers) * g.classCount <= 1 << 31,
              width * width <= 1 << 31, (kind != .gat || g.adjacency.nonZeroCount + g.nodeCount <= (1 << 31) / heads) else {
            throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "the model would be too large (n_features × hidden, n_nodes × width or hidden × classes above 2^31)")
        }
        var c = NodeClassifier.Configuration()
        c.kind = kind
        c.hidden = Int(p.hidden); c.layers = Int(p.layers)
        c.heads = heads; c.weightDecayAllLayers = kind == .gat
        c.virtualNode = p.virtual_node != 0
        c.jumpingKnowledge = jumpingKnowledgeByCode[Int(p.jumping_knowledge)]
        c.learningRate = p.learning_rate; c.weightDecay = p.weight_decay; c.dropout = p.dropout
        c.epochs = Int(p.epochs); c.seed = p.seed; c.normalizeFeatures = p.normalize_features != 0
        let classifier = try NodeClassifier(graph: g, configuration: c)
        out.pointee = OpaquePointer(Unmanaged.passRetained(classifier).toOpaque())
    }
}

@_cdecl("fg_nodeclass_free")
public func fg_nodeclass_free(_ nc: OpaquePointer?) {
    guard let nc else { return }
    Unmanaged<NodeClassifier>.fromOpaque(UnsafeRawPointer(nc)).release()
}

@_cdecl("fg_nodeclass_fit")
public func fg_nodeclass_fit(_ nc: OpaquePointer?, _ trainNodes: UnsafePointer<Int32>?, _ nTrain: Int, _ epochs: UInt32,
                             _ progress: fg_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                             _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    graphCall("fg_nodeclass_fit") {
        let classifier = try nodeClassHandle(nc)
        var train: [Int]? = nil
        if let trainNodes {
            train = try nodeIdsArgument(trainNodes, count: nTrain, nodeCount: classifier.graph.nodeCount, name: "train_nodes")
        } else if classifier.graph.trainNodes.isEmpty {
            throw CAPIError.null("train_nodes (the graph has no public training split)")
        }
        guard epochs <= 1_000_000 else { throw CAPIError.invalid("epochs must be ≤ 1000000") }
        var callback: ((Int, Int, Float) -> Bool)? = nil
        if let progress {
            callback = { step, total, loss in progress(UInt64(step), UInt64(total), loss, userData) == 0 }
        }
        let stats = try classifier.fit(epochs: epochs == 0 ? nil : Int(epochs), trainNodes: train, progress: callback)
        if let last = stats.last { outLoss?.pointee = last.loss }
    }
}

@_cdecl("fg_nodeclass_evaluate")
public func fg_nodeclass_evaluate(_ nc: OpaquePointer?, _ nodes: UnsafePointer<Int32>?, _ nNodes: Int,
                                  _ outAccuracy: UnsafeMutablePointer<Float>?) -> fg_status {
    graphCall("fg_nodeclass_evaluate") {
        let classifier = try nodeClassHandle(nc)
        guard let outAccuracy else { throw CAPIError.null("out_accuracy") }
        let ids: [Int]
        if let nodes {
            ids = try nodeIdsArgument(nodes, count: nNodes, nodeCount: classifier.graph.nodeCount, name: "nodes")
        } else {
            guard !classifier.graph.testNodes.isEmpty else { throw CAPIError.null("nodes (the graph has no public test split)") }
            ids = classifier.graph.testNodes
        }
        outAccuracy.pointee = classifier.accuracy(on: ids)
    }
}

@_cdecl("fg_nodeclass_predict")
public func fg_nodeclass_predict(_ nc: OpaquePointer?, _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                                 _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    graphCall("fg_nodeclass_predict") {
        let classifier = try nodeClassHandle(nc)
        let needed = classifier.graph.nodeCount &* classifier.graph.classCount
        if dst == nil || dstLength < needed {
            outLength?.pointee = needed
            if dst == nil {
                guard outLength != nil else { throw CAPIError.null("dst and out_len (one is needed)") }
                return
            }
            throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "dst holds \(dstLength < 0 ? "?" : String(dstLength)) floats, \(needed) are needed")
        }
        try writeOutput(classifier.logits(), dst: dst, dstLength: dstLength, outLength: outLength)
    }
}

/// The NCN/NCNC fields of `p` (validated) over the model defaults in `c`.
func applyNCNParams(_ p: fg_linkpred_params, to c: inout LinkPredictor.Configuration) throws {
    for (name, value) in [("hidden_dropout", p.hidden_dropout), ("predictor_dropout", p.predictor_dropout),
                          ("predictor_edge_dropout", p.predictor_edge_dropout)] {
        guard value.isFinite, value < 1 else { throw CAPIError.invalid("params.\(name) must be < 1 (negative = model default), got \(value)") }
    }
    guard p.predictor_learning_rate.isFinite, p.predictor_learning_rate >= 0 else {
        throw CAPIError.invalid("params.predictor_learning_rate must be finite and > 0 (0 = model default), got \(p.predictor_learning_rate)")
    }
    if p.hidden_dropout >= 0 { c.hiddenDropout = p.hidden_dropout }
    if p.predictor_dropout >= 0 { c.predictorDropout = p.predictor_dropout }
    if p.predictor_edge_dropout >= 0 { c.predictorEdgeDropout = p.predictor_edge_dropout }
    if p.predictor_learning_rate > 0 { c.predictorLearningRateScale = p.predictor_learning_rate / c.learningRate }
    if p.custom_completion != 0 {
        let (s, o, alpha, pt) = p.completion
        guard [s, o, alpha, pt].allSatisfy(\.isFinite), alpha >= 0, pt > 0, pt <= 1 else {
            throw CAPIError.invalid("params.completion (s, o, alpha, pt) must be finite with alpha ≥ 0 and pt in (0, 1], got (\(s), \(o), \(alpha), \(pt))")
        }
        c.completionScale = s; c.completionOffset = o; c.completionAlpha = alpha; c.completionPrior = pt
    }
    guard p.train_candidates <= 1 << 20, p.test_candidates <= 1 << 20 else {
        throw CAPIError.invalid("params.train_candidates and test_candidates must be ≤ 2^20 (0 = all)")
    }
    c.trainCandidateDegree = Int(p.train_candidates); c.testCandidateDegree = Int(p.test_candidates)
}
