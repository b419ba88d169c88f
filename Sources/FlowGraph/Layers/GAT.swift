import FlowTensor
import FlowAutodiff
import FlowNN

/// Graph attention layer (Veličković et al. 2018) with PyG's `GATConv` semantics:
///
///     x'_j = W x_j  (split into H heads of width C)
///     e_ij = LeakyReLU_0.2(a_dstᵀ x'_i[h] + a_srcᵀ x'_j[h])   for every edge j → i (self loops included)
///     α_ij = softmax over the incoming edges of i (per head), dropped out with `attentionDropout` in training
///     h_i  = Σ_j α_ij x'_j[h], heads concatenated [n, H·C] or averaged [n, C], plus a bias
///
/// Built on `sddmm(.add)` for the logits, `edgeSoftmax` and the edge-weighted `spmm`. Pass the pattern of
/// A + I (`Graph.selfLoopAdjacency()`; `GNNKind.gat.operatorMatrix` gives it); its values are ignored.
/// Weight [H·C, in] and attention vectors [H, C] Glorot-uniform, bias zero (as PyG).
public final class GATConv: Module {
    public let weight: Variable
    public let sourceAttention: Variable
    public let targetAttention: Variable
    public let bias: Variable
    public let heads: Int
    public let outPerHead: Int
    public let concat: Bool
    public let attentionDropout: Float

    public init(_ inFeatures: Int, _ outPerHead: Int, heads: Int = 1, concat: Bool = true, attentionDropout: Float = 0,
                rng: inout RandomGenerator) {
        precondition(heads >= 1 && outPerHead >= 1 && attentionDropout >= 0 && attentionDropout < 1, "GATConv: bad settings")
        self.heads = heads
        self.outPerHead = outPerHead
        self.concat = concat
        self.attentionDropout = attentionDropout
        weight = Variable(Initializer.xavierUniform(gain: 1).make([heads * outPerHead, inFeatures], rng: &rng), requiresGrad: true)
        sourceAttention = Variable(Initializer.xavierUniform(gain: 1).make([heads, outPerHead], rng: &rng), requiresGrad: true)
        targetAttention = Variable(Initializer.xavierUniform(gain: 1).make([heads, outPerHead], rng: &rng), requiresGrad: true)
        bias = Variable(Tensor(zeros: [concat ? heads * outPerHead : outPerHead]), requiresGrad: true)
    }

    /// Output width: H·C when concatenating heads, C when averaging.
    public var outFeatures: Int { concat ? heads * outPerHead : outPerHead }

    /// x [n, in] → [n, outFeatures] over `pattern` (rows receive; include self loops for PyG's default).
    public func callAsFunction(_ x: NodeInput, pattern: CSRMatrix, training: Bool, rng: inout RandomGenerator) -> Variable {
        let projected = x.project(weight)                                    // [n, H·C]
        let n = projected.shape[0]
        let perHead = projected.reshaped([n, heads, outPerHead])
        let sourceScore = (perHead * sourceAttention.reshaped([1, heads, outPerHead])).sum(axis: 2)   // [n, H]
        let targetScore = (perHead * targetAttention.reshaped([1, heads, outPerHead])).sum(axis: 2)   // [n, H]
        let logits = sddmm(pattern, targetScore, sourceScore, combine: .add).leakyRelu(slope: 0.2)     // [nnz, H]
        var alpha = edgeSoftmax(pattern, logits)
        alpha = Dropout(probability: attentionDropout)(alpha, training: training, rng: &rng)
        var out = spmm(pattern, edgeWeights: alpha, projected)                 // [n, H·C]
        if !concat && heads > 1 { out = out.reshaped([n, heads, outPerHead]).mean(axis: 1) }
        return out + bias
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        [("lin.weight", weight), ("att_src", sourceAttention), ("att_dst", targetAttention), ("bias", bias)]
    }
}

extension Graph {
    /// The 0/1 pattern of A + I (rows sorted): GAT's default neighbourhoods with self loops.
    public func selfLoopAdjacency() -> CSRMatrix {
        let a = gcnNormalizedAdjacency()
        return CSRMatrix(rowCount: a.rowCount, columnCount: a.columnCount, rowPointers: a.rowPointers,
                         columnIndices: a.columnIndices, values: [Float](repeating: 1, count: a.nonZeroCount),
                         isSymmetric: true)
    }
}
