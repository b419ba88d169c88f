#if canImport(Glibc)
import Glibc
#endif

/// Neighbourhood-overlap link scores, computed per pair by intersecting the two sorted CSR rows
/// (O(deg u + deg v) per pair; never an n × n product).
public enum LinkHeuristic: String, Sendable, CaseIterable {
    /// Common neighbours |N(u) ∩ N(v)|.
    case commonNeighbors = "cn"
    /// Adamic–Adar Σ_{w ∈ N(u)∩N(v)} 1 / log deg(w).
    case adamicAdar = "aa"
    /// Resource allocation Σ_{w ∈ N(u)∩N(v)} 1 / deg(w).
    case resourceAllocation = "ra"

    /// Scores of `pairs` on `graph`. Node ids must be in range (precondition; the C layer validates).
    public func scores(_ pairs: NodePairs, on graph: Graph) -> [Float] {
        let rp = graph.adjacency.rowPointers, ci = graph.adjacency.columnIndices
        var weight = [Float](repeating: 1, count: graph.nodeCount)
        for w in 0..<graph.nodeCount {
            let d = Float(rp[w + 1] - rp[w])
            switch self {
            case .commonNeighbors: weight[w] = 1
            case .adamicAdar: weight[w] = d > 1 ? 1 / logf(d) : 0
            case .resourceAllocation: weight[w] = d > 0 ? 1 / d : 0
            }
        }
        var out = [Float](repeating: 0, count: pairs.count)
        rp.withUnsafeBufferPointer { rp in ci.withUnsafeBufferPointer { ci in weight.withUnsafeBufferPointer { wt in
            for k in 0..<pairs.count {
                let u = pairs.sources[k], v = pairs.targets[k]
                precondition(u >= 0 && u < graph.nodeCount && v >= 0 && v < graph.nodeCount, "node id out of range")
                var i = rp[u], j = rp[v]
                let iEnd = rp[u &+ 1], jEnd = rp[v &+ 1]
                var s: Float = 0
                while i < iEnd && j < jEnd {
                    let a = ci[i], b = ci[j]
                    if a == b { s += wt[a]; i &+= 1; j &+= 1 } else if a < b { i &+= 1 } else { j &+= 1 }
                }
                out[k] = s
            }
        } } }
        return out
    }
}
