import FlowTensor
import FlowAutodiff
import FlowNN

/// Input to a graph layer: dense node states, or (first layer only) sparse node features, for which the
/// linear map X·Wᵀ is computed as a sparse-dense product (bag-of-words features are ~1 % dense).
public enum NodeInput {
    case dense(Variable)
    case sparse(CSRMatrix)

    /// x · Wᵀ for weight [out, in] (no bias).
    func project(_ weight: Variable) -> Variable {
        switch self {
        case .dense(let x): return linear(x, weight: weight, bias: nil)
        case .sparse(let m): return spmm(m, weight.transposed())
        }
    }
}

/// Graph convolution (Kipf & Welling 2017): H' = Â H W + b with Â = D̃^{-1/2}(A+I)D̃^{-1/2}
/// (pass `Graph.gcnNormalizedAdjacency()`). Weight [out, in] Glorot-uniform, bias zero (PyG's GCNConv).
public final class GCNConv: Module {
    public let weight: Variable
    public let bias: Variable

    public init(_ inFeatures: Int, _ outFeatures: Int, rng: inout RandomGenerator) {
        weight = Variable(Initializer.xavierUniform(gain: 1).make([outFeatures, inFeatures], rng: &rng), requiresGrad: true)
        bias = Variable(Tensor(zeros: [outFeatures]), requiresGrad: true)
    }

    /// x [n, in] → [n, out] with the normalised operator `operatorMatrix` [n, n].
    public func callAsFunction(_ x: NodeInput, operator operatorMatrix: CSRMatrix) -> Variable {
        spmm(operatorMatrix, x.project(weight)) + bias
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] { [("weight", weight), ("bias", bias)] }
}

/// GraphSAGE with mean aggregation (Hamilton et al. 2017): h'_i = W₁ h_i + W₂ · mean_{j∈N(i)} h_j + b
/// (pass `Graph.meanAdjacency()`). PyG's SAGEConv layout: `lin_l` on the aggregate (with bias), `lin_r` on
/// the root.
public final class SAGEConv: Module {
    public let neighbourWeight: Variable
    public let rootWeight: Variable
    public let bias: Variable

    public init(_ inFeatures: Int, _ outFeatures: Int, rng: inout RandomGenerator) {
        let initializer = Initializer.torchLinearDefault
        neighbourWeight = Variable(initializer.make([outFeatures, inFeatures], rng: &rng), requiresGrad: true)
        rootWeight = Variable(initializer.make([outFeatures, inFeatures], rng: &rng), requiresGrad: true)
        bias = Variable(Tensor(zeros: [outFeatures]), requiresGrad: true)
    }

    /// x [n, in] → [n, out]; `meanOperator` = D⁻¹A. Projecting before aggregating is exact (linearity).
    public func callAsFunction(_ x: NodeInput, operator meanOperator: CSRMatrix) -> Variable {
        spmm(meanOperator, x.project(neighbourWeight)) + x.project(rootWeight) + bias
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        [("lin_l.weight", neighbourWeight), ("lin_l.bias", bias), ("lin_r.weight", rootWeight)]
    }
}

/// Graph isomorphism layer (Xu et al. 2019): h'_i = MLP((1+ε) h_i + Σ_{j∈N(i)} h_j), ε fixed (default 0).
/// The MLP's first linear map is applied before aggregating (exact by linearity), so sparse inputs stay sparse.
public final class GINConv: Module {
    public let firstWeight: Variable
    public let firstBias: Variable
    public let second: Linear
    public let epsilon: Float

    public init(_ inFeatures: Int, _ outFeatures: Int, hidden: Int? = nil, epsilon: Float = 0, rng: inout RandomGenerator) {
        let h = hidden ?? outFeatures
        let first = Linear(inFeatures, h, rng: &rng)
        firstWeight = first.weight
        firstBias = first.bias!
        second = Linear(h, outFeatures, rng: &rng)
        self.epsilon = epsilon
    }

    /// x [n, in] → [n, out]; `adjacency` = A (0/1, no self loops).
    public func callAsFunction(_ x: NodeInput, operator adjacency: CSRMatrix) -> Variable {
        let projected = x.project(firstWeight)
        let aggregated = propagate(projected, over: adjacency, aggregation: .sum) + projected * (1 + epsilon)
        return second((aggregated + firstBias).relu())
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        [("nn.0.weight", firstWeight), ("nn.0.bias", firstBias)] + scoped("nn.2", second)
    }
}
