import CFlowGenABI
import FlowGen

// Graph transforms of the graph section of include/flowgen.h.

@_cdecl("fg_graph_add_virtual_node")
public func fg_graph_add_virtual_node(_ graph: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return graphCall("fg_graph_add_virtual_node") {
        guard let out else { throw CAPIError.null("out") }
        let g = try graphBox(graph).graph
        guard g.nodeCount < maxGraphNodes else {
            throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "the graph already has \(g.nodeCount) nodes (limit \(maxGraphNodes))")
        }
        if let f = g.features {
            let (cells, overflow) = (g.nodeCount + 1).multipliedReportingOverflow(by: f.shape[1])
            guard !overflow, cells <= maxElementCount else {
                throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "the padded feature matrix would be too large")
            }
        }
        out.pointee = OpaquePointer(Unmanaged.passRetained(GraphBox(try g.withVirtualNode())).toOpaque())
    }
}
