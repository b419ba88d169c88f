import CFlowGenABI
import FlowGen

// C entry points of the graph section of include/flowgen.h: fg_graph_* (this file), fg_linkpred_* and
// fg_nodeclass_* (GraphModels.swift). Every argument is validated here before the core runs.

/// An fg_graph handle: an immutable graph shared by the models created from it.
final class GraphBox {
    let graph: Graph
    init(_ graph: Graph) { self.graph = graph }
}

/// Largest node count accepted from C (2^27: per-node index arrays stay ≤ 1 GiB; larger requests are
/// reported as FG_ERR_OUT_OF_MEMORY instead of attempting the allocation).
let maxGraphNodes = 1 << 27

/// Runs a graph entry point: `GraphError`s become statuses like every other error.
func graphCall(_ function: StaticString, _ body: () throws -> Void) -> fg_status {
    capiCall(function) {
        do { try body() } catch let e as GraphError {
            switch e {
            case .invalid(let m): throw CAPIError.invalid(m)
            case .outOfRange(let m): throw CAPIError(status: FG_ERR_OUT_OF_RANGE, message: m)
            case .malformed(let m): throw CAPIError(status: FG_ERR_CORRUPT_FILE, message: m)
            case .nonFinite(let m): throw CAPIError(status: FG_ERR_NON_FINITE, message: m)
            case .leakage(let m): throw CAPIError(status: FG_ERR_INTERNAL, message: "leakage check failed: \(m)")
            case .numerical(let m): throw CAPIError(status: FG_ERR_NUMERICAL, message: m)
            case .cancelled(let m): throw CAPIError(status: FG_ERR_CANCELLED, message: m)
            }
        }
    }
}

func graphBox(_ graph: OpaquePointer?) throws -> GraphBox {
    guard let graph else { throw CAPIError.null("graph") }
    return Unmanaged<GraphBox>.fromOpaque(UnsafeRawPointer(graph)).takeUnretainedValue()
}

/// Reads `count` node pairs [count, 2] of int64 ids, each checked against `nodeCount`.
func nodePairsArgument(_ pairs: UnsafePointer<Int64>?, count: Int, nodeCount: Int, name: String) throws -> NodePairs {
    guard let pairs else { throw CAPIError.null(name) }
    guard count > 0 else { throw CAPIError.invalid("the number of \(name) must be positive (got \(count < 0 ? "a value ≥ 2^63" : "0"))") }
    guard count <= maxElementCount / 2 else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "\(count) \(name) are too many")
    }
    var out = NodePairs()
    out.sources.reserveCapacity(count); out.targets.reserveCapacity(count)
    for k in 0..<count {
        let u = pairs[2 &* k], v = pairs[2 &* k &+ 1]
        guard u >= 0, v >= 0, u < Int64(nodeCount), v < Int64(nodeCount) else {
            throw CAPIError(status: FG_ERR_OUT_OF_RANGE, message: "\(name)[\(k)] = (\(u), \(v)) has a node id outside 0…\(nodeCount - 1)")
        }
        out.sources.append(Int(u)); out.targets.append(Int(v))
    }
    return out
}

/// Reads `count` int32 node ids, each checked against `nodeCount`.
func nodeIdsArgument(_ ids: UnsafePointer<Int32>, count: Int, nodeCount: Int, name: String) throws -> [Int] {
    guard count > 0 else { throw CAPIError.invalid("the number of \(name) must be positive") }
    guard count <= maxElementCount else { throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "too many \(name)") }
    return try (0..<count).map { k in
        let v = Int(ids[k])
        guard v >= 0, v < nodeCount else {
            throw CAPIError(status: FG_ERR_OUT_OF_RANGE, message: "\(name)[\(k)] = \(v) is outside 0…\(nodeCount - 1)")
        }
        return v
    }
}

@_cdecl("fg_graph_load")
public func fg_graph_load(_ directory: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return graphCall("fg_graph_load") {
        guard let out else { throw CAPIError.null("out") }
        let graph = try GraphLoader.load(directory: try pathArgument(directory, name: "directory"), maxNodes: maxGraphNodes)
        out.pointee = OpaquePointer(Unmanaged.passRetained(GraphBox(graph)).toOpaque())
    }
}

@_cdecl("fg_graph_create")
public func fg_graph_create(_ nNodes: Int, _ edges: UnsafeRawPointer?, _ nEdges: Int, _ indexType: UInt32,
                            _ features: UnsafePointer<Float>?, _ featureRows: Int, _ nFeatures: Int,
                            _ labels: UnsafePointer<Int32>?, _ nLabels: Int,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return graphCall("fg_graph_create") {
        guard let out else { throw CAPIError.null("out") }
        guard nNodes > 0 else { throw CAPIError.invalid("n_nodes must be positive (got \(nNodes < 0 ? "a value ≥ 2^63" : "0"))") }
        guard nNodes <= maxGraphNodes else {
            throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "n_nodes = \(nNodes) is larger than the limit 2^27")
        }
        guard indexType == UInt32(FG_INDEX_INT32) || indexType == UInt32(FG_INDEX_INT64) else {
            throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "index_type = \(indexType) is not an FG_INDEX_* value")
        }
        guard nEdges >= 0, nEdges <= maxElementCount / 2 else {
            throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "n_edges is too large")
        }
        var sources = [Int](repeating: 0, count: nEdges), targets = [Int](repeating: 0, count: nEdges)
        if nEdges > 0 {
            guard let edges else { throw CAPIError.null("edges") }
            for e in 0..<nEdges {
                let u: Int64, v: Int64
                if indexType == UInt32(FG_INDEX_INT32) {
                    let p = edges.assumingMemoryBound(to: Int32.self)
                    u = Int64(p[2 &* e]); v = Int64(p[2 &* e &+ 1])
                } else {
                    let p = edges.assumingMemoryBound(to: Int64.self)
                    u = p[2 &* e]; v = p[2 &* e &+ 1]
                }
                guard u >= 0, v >= 0, u < Int64(nNodes), v < Int64(nNodes) else {
                    throw CAPIError(status: FG_ERR_OUT_OF_RANGE, message: "edges[\(e)] = (\(u), \(v)) has a node id outside 0…\(nNodes - 1)")
                }
                sources[e] = Int(u); targets[e] = Int(v)
            }
        }
        var featureTensor: Tensor? = nil
        if let features {
            guard featureRows == nNodes else {
                throw CAPIError.shape("the features have \(featureRows < 0 ? "≥ 2^63" : String(featureRows)) rows but the graph has \(nNodes) nodes")
            }
            _ = try checkedMatrixCount(rows: featureRows, cols: nFeatures, rowsName: "feature_rows", colsName: "n_features")
            featureTensor = try copyFiniteTensor(features, shape: [featureRows, nFeatures], name: "features")
        }
        var labelArray: [Int]? = nil
        if let labels {
            guard nLabels == nNodes else {
                throw CAPIError.shape("n_labels = \(nLabels < 0 ? "a value ≥ 2^63" : String(nLabels)) but the graph has \(nNodes) nodes")
            }
            labelArray = try (0..<nLabels).map { i in
                guard labels[i] >= 0 else {
                    throw CAPIError(status: FG_ERR_OUT_OF_RANGE, message: "labels[\(i)] = \(labels[i]) is negative")
                }
                return Int(labels[i])
            }
        }
        var graph = try Graph(nodeCount: nNodes, sources: sources, targets: targets)
        graph.features = featureTensor
        graph.labels = labelArray
        out.pointee = OpaquePointer(Unmanaged.passRetained(GraphBox(graph)).toOpaque())
    }
}

@_cdecl("fg_graph_free")
public func fg_graph_free(_ graph: OpaquePointer?) {
    guard let graph else { return }
    Unmanaged<GraphBox>.fromOpaque(UnsafeRawPointer(graph)).release()
}

@_cdecl("fg_graph_num_nodes")
public func fg_graph_num_nodes(_ graph: OpaquePointer?) -> Int { (try? graphBox(graph))?.graph.nodeCount ?? 0 }

@_cdecl("fg_graph_num_edges")
public func fg_graph_num_edges(_ graph: OpaquePointer?) -> Int { (try? graphBox(graph))?.graph.edgeCount ?? 0 }

@_cdecl("fg_graph_num_features")
public func fg_graph_num_features(_ graph: OpaquePointer?) -> Int { (try? graphBox(graph))?.graph.featureCount ?? 0 }

@_cdecl("fg_graph_num_classes")
public func fg_graph_num_classes(_ graph: OpaquePointer?) -> Int { (try? graphBox(graph))?.graph.classCount ?? 0 }

@_cdecl("fg_graph_edges")
public func fg_graph_edges(_ graph: OpaquePointer?, _ dst: UnsafeMutablePointer<Int64>?, _ dstLength: Int,
                           _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    graphCall("fg_graph_edges") {
        let g = try graphBox(graph).graph
        let needed = 2 &* g.edgeCount
        outLength?.pointee = needed
        guard let dst else {
            guard outLength != nil else { throw CAPIError.null("dst and out_len (one is needed)") }
            return
        }
        guard dstLength >= needed, dstLength >= 0 else {
            throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "dst holds \(dstLength < 0 ? "?" : String(dstLength)) values, \(needed) are needed")
        }
        for e in 0..<g.edgeCount {
            dst[2 &* e] = Int64(g.edgeSources[e]); dst[2 &* e &+ 1] = Int64(g.edgeTargets[e])
        }
    }
}
