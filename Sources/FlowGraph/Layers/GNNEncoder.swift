import FlowTensor
import FlowAutodiff
import FlowNN

/// The layer families of `GNNEncoder`.
public enum GNNKind: String, Sendable, CaseIterable {
    case gcn, sage, gin, gat

    /// The sparse operator the layer family aggregates with: Â (GCN), D⁻¹A (SAGE), A (GIN), the pattern of
    /// A + I (GAT, attention weights computed per edge).
    public func operatorMatrix(for graph: Graph) -> CSRMatrix {
        switch self {
        case .gcn: return graph.gcnNormalizedAdjacency()
        case .sage: return graph.meanAdjacency()
        case .gin: return graph.adjacency
        case .gat: return graph.selfLoopAdjacency()
        }
    }
}

/// A stack of graph layers of one family: widths [in, hidden…, out]; an activation (ReLU, ELU for GAT) and
/// dropout between layers (none after the last), optional dropout on the input (for sparse inputs it drops
/// stored entries).
///
/// GAT layers use `heads` heads of width `hidden` concatenated, the last layer `outputHeads` heads averaged
/// (Veličković et al.'s Cora setting: 8 × 8, then 1), with attention dropout = `dropout`.
/// Options: `virtualNode` inserts a `VirtualNodeUpdate` between consecutive layers (MPNN + VN); a
/// `jumpingKnowledge` mode makes every graph layer `hidden` wide (activation and dropout after each), combines
/// the per-layer states and maps them to the output width with a final linear layer (PyG's `BasicGNN(jk=…)`).
public final class GNNEncoder: Module {
    public let kind: GNNKind
    public let layers: [Module]
    public let dropout: Float
    public let inputDropout: Float
    /// One virtual-node update per gap between layers (empty without the option).
    public let virtualNodes: [VirtualNodeUpdate]
    public let jumpingKnowledge: JumpingKnowledge?
    /// The final linear map after jumping knowledge.
    public let jumpingKnowledgeOutput: Linear?

    public init(kind: GNNKind, widths: [Int], dropout: Float = 0, inputDropout: Float = 0, heads: Int = 8,
                outputHeads: Int = 1, virtualNode: Bool = false, jumpingKnowledge: JumpingKnowledge? = nil,
                rng: inout RandomGenerator) {
        precondition(widths.count >= 2, "GNNEncoder needs at least [in, out] widths")
        self.kind = kind
        self.dropout = dropout
        self.inputDropout = inputDropout
        self.jumpingKnowledge = jumpingKnowledge
        let count = widths.count - 1
        var layers: [Module] = []
        var inWidth = widths[0]
        var stateWidths: [Int] = []
        for l in 0..<count {
            let last = l == count - 1 && jumpingKnowledge == nil
            let out = jumpingKnowledge != nil && l == count - 1 ? widths[Swift.max(count - 1, 1)] : widths[l + 1]
            switch kind {
            case .gcn: layers.append(GCNConv(inWidth, out, rng: &rng))
            case .sage: layers.append(SAGEConv(inWidth, out, rng: &rng))
            case .gin: layers.append(GINConv(inWidth, out, rng: &rng))
            case .gat:
                layers.append(GATConv(inWidth, out, heads: last ? outputHeads : heads, concat: !last,
                                      attentionDropout: dropout, rng: &rng))
            }
            inWidth = (layers.last as? GATConv)?.outFeatures ?? out
            stateWidths.append(inWidth)
        }
        self.layers = layers
        var vns: [VirtualNodeUpdate] = []
        if virtualNode { for l in 0..<(count - 1) { vns.append(VirtualNodeUpdate(width: stateWidths[l], rng: &rng)) } }
        virtualNodes = vns
        if let jk = jumpingKnowledge {
            jumpingKnowledgeOutput = Linear(jk.outputWidth(layers: count, width: stateWidths[0]), widths[count], rng: &rng)
        } else {
            jumpingKnowledgeOutput = nil
        }
    }

    func apply(_ layer: Module, _ x: NodeInput, _ op: CSRMatrix, training: Bool, rng: inout RandomGenerator) -> Variable {
        switch layer {
        case let l as GCNConv: return l(x, operator: op)
        case let l as SAGEConv: return l(x, operator: op)
        case let l as GINConv: return l(x, operator: op)
        case let l as GATConv: return l(x, pattern: op, training: training, rng: &rng)
        default: preconditionFailure("GNNEncoder: unknown layer type")
        }
    }

    func activation(_ h: Variable) -> Variable { kind == .gat ? h.elu() : h.relu() }

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
        let drop = Dropout(probability: dropout)
        var h = apply(layers[0], x, op, training: training, rng: &rng)
        var states: [Variable] = []
        var vn: Variable? = nil
        for (l, layer) in layers.enumerated().dropFirst() {
            h = drop(activation(h), training: training, rng: &rng)
            states.append(h)
            if !virtualNodes.isEmpty { (h, vn) = virtualNodes[l - 1](h, virtualNode: vn) }
            h = apply(layer, .dense(h), op, training: training, rng: &rng)
        }
        guard let jk = jumpingKnowledge, let output = jumpingKnowledgeOutput else { return h }
        states.append(drop(activation(h), training: training, rng: &rng))
        return output(jk(states))
    }

    /// The parameters of the first layer (for per-layer weight decay, as in Kipf & Welling).
    public var firstLayerParameters: [Variable] { layers[0].parameters }
    /// The parameters of the remaining layers, the virtual-node updates and the jumping-knowledge output.
    public var laterLayerParameters: [Variable] {
        layers.dropFirst().flatMap(\.parameters) + virtualNodes.flatMap(\.parameters) + (jumpingKnowledgeOutput?.parameters ?? [])
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        layers.enumerated().flatMap { scoped("convs.\($0.offset)", $0.element) }
            + virtualNodes.enumerated().flatMap { scoped("vn_mlps.\($0.offset)", $0.element) }
            + (jumpingKnowledgeOutput.map { scoped("lin", $0) } ?? [])
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
