import FlowTensor
import FlowAutodiff
import FlowNN

/// The layer families of `GNNEncoder`.
public enum GNNKind: String, Sendable, CaseIterable {
    case gcn, sage, gin

    /// The sparse operator the layer family aggregates with: Â (GCN), D⁻¹A (SAGE), A (GIN).
    public func operatorMatrix(for graph: Graph) -> CSRMatrix {
        switch self {
        case .gcn: return graph.gcnNormalizedAdjacency()
        case .sage: return graph.meanAdjacency()
        case .gin: return graph.adjacency
        }
    }
}

/// A stack of graph layers of one family: widths [in, hidden…, out]; ReLU and dropout between layers
/// (none after the last), optional dropout on the input (for sparse inputs it drops stored entries).
public final class GNNEncoder: Module {
    public let kind: GNNKind
    public let layers: [Module]
    public let dropout: Float
    public let inputDropout: Float

    public init(kind: GNNKind, widths: [Int], dropout: Float = 0, inputDropout: Float = 0, rng: inout RandomGenerator) {
        precondition(widths.count >= 2, "GNNEncoder needs at least [in, out] widths")
        self.kind = kind
        self.dropout = dropout
        self.inputDropout = inputDropout
        var layers: [Module] = []
        for l in 0..<(widths.count - 1) {
            switch kind {
            case .gcn: layers.append(GCNConv(widths[l], widths[l + 1], rng: &rng))
            case .sage: layers.append(SAGEConv(widths[l], widths[l + 1], rng: &rng))
            case .gin: layers.append(GINConv(widths[l], widths[l + 1], rng: &rng))
            }
        }
        self.layers = layers
    }

    func apply(_ layer: Module, _ x: NodeInput, _ op: CSRMatrix) -> Variable {
        switch layer {
        case let l as GCNConv: return l(x, operator: op)
        case let l as SAGEConv: return l(x, operator: op)
        case let l as GINConv: return l(x, operator: op)
        default: preconditionFailure("GNNEncoder: unknown layer type")
        }
    }

    /// Node states [n, out] from the input features and the operator of `kind`.
    public func callAsFunction(_ input: NodeInput, operator op: CSRMatrix, training: Bool,
                               rng: inout RandomGenerator) -> Variable {
        var x = input
        if training && inputDropout > 0 {
            switch input {
            case .dense(let v): x = .dense(Dropout(probability: inputDropout)(v, training: true, rng: &rng))
            case .sparse(let m): x = .sparse(sparseDropout(m, probability: inputDropout, rng: &rng))
            }
        }
        var h = apply(layers[0], x, op)
        for layer in layers.dropFirst() {
            h = Dropout(probability: dropout)(h.relu(), training: training, rng: &rng)
            h = apply(layer, .dense(h), op)
        }
        return h
    }

    /// The parameters of the first layer (for per-layer weight decay, as in Kipf & Welling).
    public var firstLayerParameters: [Variable] { layers[0].parameters }
    /// The parameters of the remaining layers.
    public var laterLayerParameters: [Variable] { layers.dropFirst().flatMap(\.parameters) }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        layers.enumerated().flatMap { scoped("convs.\($0.offset)", $0.element) }
    }
}

/// Inverted dropout of the stored entries of a sparse matrix (same pattern, dropped values set to 0).
public func sparseDropout(_ m: CSRMatrix, probability: Float, rng: inout RandomGenerator) -> CSRMatrix {
    let keep = 1 - probability
    var values = m.values
    for k in 0..<values.count { values[k] = rng.nextUniform() < keep ? values[k] / keep : 0 }
    return CSRMatrix(rowCount: m.rowCount, columnCount: m.columnCount, rowPointers: m.rowPointers,
                     columnIndices: m.columnIndices, values: values)
}

/// The model input for a graph's features: sparse when they are stored sparse or under 10 % dense,
/// optionally row-normalised (PyG's NormalizeFeatures). Nil without features.
public func nodeInput(for graph: Graph, rowNormalize: Bool) -> NodeInput? {
    if let sparse = graph.sparseFeatures {
        // A fresh object (arrays are shared copy-on-write): its lazily cached transpose then belongs to this
        // model alone, so models on one shared graph can train on different threads.
        return .sparse(rowNormalize ? sparse.rowNormalized()
                       : CSRMatrix(rowCount: sparse.rowCount, columnCount: sparse.columnCount, rowPointers: sparse.rowPointers,
                                   columnIndices: sparse.columnIndices, values: sparse.values))
    }
    guard let dense = graph.features else { return nil }
    let csr = denseToCSR(dense)
    if csr.nonZeroCount * 10 < Swift.max(dense.count, 1) { return .sparse(rowNormalize ? csr.rowNormalized() : csr) }
    if !rowNormalize { return .dense(Variable(dense)) }
    return .dense(Variable(csr.rowNormalized().dense()))
}
