import FlowTensor
import FlowAutodiff

/// A lookup table of learned vectors (PyTorch's nn.Embedding): weight [count, dimension], initialised
/// N(0, 1) as in PyTorch. Looking up n indices gives [n, dimension]; the gradient of the rows that were
/// looked up is scatter-added into the weight (repeated indices accumulate).
public final class Embedding: Module {
    public let weight: Variable
    /// Number of rows (vocabulary size).
    public var count: Int { weight.shape[0] }
    /// Length of each vector.
    public var dimension: Int { weight.shape[1] }

    /// - Parameters:
    ///   - count: number of embeddings (rows), ≥ 0.
    ///   - dimension: size of each embedding vector, ≥ 0.
    ///   - weightInit: the weight's initialiser (default N(0, 1)).
    public init(_ count: Int, _ dimension: Int, weightInit: Initializer = .normal(mean: 0, std: 1),
                rng: inout RandomGenerator) {
        precondition(count >= 0 && dimension >= 0, "Embedding needs non-negative sizes, got \(count)×\(dimension)")
        weight = Variable(weightInit.make([count, dimension], rng: &rng), requiresGrad: true)
    }

    /// Rows of the table: `indices` (each in `0..<count`) → [indices.count, dimension].
    public func callAsFunction(_ indices: [Int]) -> Variable {
        weight.indexSelect(axis: 0, indices: indices)
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] { [("weight", weight)] }
}
