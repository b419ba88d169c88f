import FlowTensor
import FlowAutodiff
import FlowNN

/// The virtual-node update of MPNN + VN (Cai, Hy, Yu, Wang, ICML 2023; as in OGB's `GNN_node_Virtualnode`):
/// between graph layers ℓ and ℓ+1,
///
///     x_VN^{ℓ+1} = MLP(x_VN^ℓ + mean_i x_i^ℓ)      (x_VN^0 = 0)
///     x_i^ℓ      ← x_i^ℓ + x_VN^{ℓ+1}               (every node receives the virtual node's state)
///
/// so the next layer's messages see a global summary of the graph. The paper's readout is a sum, which OGB
/// follows with batch norm inside the MLP; with one graph of thousands of nodes (node classification) the sum
/// has no batch to normalise it, so the readout here is the mean (the sum divided by n, a fixed rescaling).
/// The MLP is Linear–ReLU–Linear of the state width. One instance per gap between layers.
public final class VirtualNodeUpdate: Module {
    public let mlp: MLP

    public init(width: Int, rng: inout RandomGenerator) {
        mlp = MLP(widths: [width, width, width], activation: .relu, rng: &rng)
    }

    /// Returns (node states with the new virtual-node state added, the new virtual-node state [1, d]).
    public func callAsFunction(_ h: Variable, virtualNode: Variable?) -> (nodes: Variable, virtualNode: Variable) {
        var pooled = h.mean(axis: 0, keepDims: true)           // [1, d]
        if let virtualNode { pooled = pooled + virtualNode }
        let vn = mlp(pooled)
        return (h + vn, vn)
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] { scoped("mlp", mlp) }
}

extension Graph {
    /// The virtual-node transform (PyG's `transforms.VirtualNode`, here undirected): appends node `nodeCount`
    /// connected to every existing node. Its feature row is zero, its label 0 (it belongs to no split), the
    /// public split is kept. Use it with any layer family; `NodeClassifier`'s `virtualNode` option instead adds a
    /// learned virtual-node update between layers (`VirtualNodeUpdate`).
    public func withVirtualNode() throws -> Graph {
        let v = nodeCount
        var g = try Graph(nodeCount: nodeCount + 1, sources: edgeSources + [Int](0..<nodeCount),
                          targets: edgeTargets + [Int](repeating: v, count: nodeCount))
        if let features {
            let f = features.shape[1]
            var padded = Tensor(zeros: [nodeCount + 1, f])
            padded.withUnsafeMutableBufferPointer { d in
                features.withUnsafeBufferPointer { s in for i in 0..<s.count { d[i] = s[i] } }
            }
            g.features = padded
        }
        if let sparse = sparseFeatures {
            g.sparseFeatures = CSRMatrix(rowCount: nodeCount + 1, columnCount: sparse.columnCount,
                                         rowPointers: sparse.rowPointers + [sparse.nonZeroCount],
                                         columnIndices: sparse.columnIndices, values: sparse.values)
        }
        if let labels { g.labels = labels + [0] }
        g.trainNodes = trainNodes; g.validationNodes = validationNodes; g.testNodes = testNodes
        return g
    }
}
