// FlowGraph: graph learning on CPU — CSR graphs and sparse kernels with autodiff (Sparse/: SpMM, SDDMM, edge
// softmax, edge-weighted SpMM), graphs, loaders and transforms (Graph/, virtual node), message-passing layers
// GCN/SAGE/GIN/GAT with jumping knowledge and MPNN + virtual node (Layers/), node classification
// (NodeClassification/) and link prediction with the NCN protocol, OGB-exact metrics, CN/AA/RA heuristics, GAE,
// NCN and NBFNet (LinkPrediction/). See docs/ARCHITECTURE.md and ../shared/papers/graph.md.

/// Errors thrown by FlowGraph for bad data or arguments; each carries a human-readable message.
/// - `invalid`: an argument outside its domain (sizes, K larger than the negatives, …).
/// - `outOfRange`: a node id or label outside its valid range.
/// - `malformed`: a data file's contents are wrong (bad CSV line, inconsistent arrays).
/// - `nonFinite`: NaN/±inf in features.
/// - `leakage`: a validation/test positive is in the message-passing graph (see `LinkSplit.checkNoLeakage`).
/// - `numerical`: training diverged (NaN loss).
/// - `cancelled`: a progress callback asked to stop.
public enum GraphError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(String)
    case outOfRange(String)
    case malformed(String)
    case nonFinite(String)
    case leakage(String)
    case numerical(String)
    case cancelled(String)

    /// The message without category.
    public var message: String {
        switch self {
        case .invalid(let m), .outOfRange(let m), .malformed(let m), .nonFinite(let m),
             .leakage(let m), .numerical(let m), .cancelled(let m): return m
        }
    }

    public var description: String { message }
}
