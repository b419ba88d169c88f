import CFlowGenABI
import FlowGen

// fg_linkpred_average_precision, fg_linkpred_save, fg_linkpred_load, fg_nodeclass_save, fg_nodeclass_load
// (graph section of include/flowgen.h).

@_cdecl("fg_linkpred_average_precision")
public func fg_linkpred_average_precision(_ lp: OpaquePointer?, _ positives: UnsafePointer<Int64>?, _ nPos: Int,
                                          _ negatives: UnsafePointer<Int64>?, _ nNeg: Int,
                                          _ outAP: UnsafeMutablePointer<Double>?) -> fg_status {
    graphCall("fg_linkpred_average_precision") {
        let predictor = try linkPredHandle(lp)
        guard let outAP else { throw CAPIError.null("out_ap") }
        let n = predictor.graph.nodeCount
        let pos = try nodePairsArgument(positives, count: nPos, nodeCount: n, name: "positives")
        let neg = try nodePairsArgument(negatives, count: nNeg, nodeCount: n, name: "negatives")
        outAP.pointee = try LinkMetrics.averagePrecision(positive: predictor.scores(pos), negative: predictor.scores(neg))
    }
}

@_cdecl("fg_linkpred_save")
public func fg_linkpred_save(_ lp: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> fg_status {
    graphCall("fg_linkpred_save") {
        let predictor = try linkPredHandle(lp)
        try predictor.save(to: try pathArgument(path))
    }
}

@_cdecl("fg_linkpred_load")
public func fg_linkpred_load(_ graph: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return graphCall("fg_linkpred_load") {
        guard let out else { throw CAPIError.null("out") }
        let g = try graphBox(graph).graph
        let predictor = try LinkPredictor.load(from: try pathArgument(path), graph: g)
        out.pointee = OpaquePointer(Unmanaged.passRetained(predictor).toOpaque())
    }
}

@_cdecl("fg_nodeclass_save")
public func fg_nodeclass_save(_ nc: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> fg_status {
    graphCall("fg_nodeclass_save") {
        let classifier = try nodeClassHandle(nc)
        try classifier.save(to: try pathArgument(path))
    }
}

@_cdecl("fg_nodeclass_load")
public func fg_nodeclass_load(_ graph: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return graphCall("fg_nodeclass_load") {
        guard let out else { throw CAPIError.null("out") }
        let g = try graphBox(graph).graph
        let classifier = try NodeClassifier.load(from: try pathArgument(path), graph: g)
        out.pointee = OpaquePointer(Unmanaged.passRetained(classifier).toOpaque())
    }
}
