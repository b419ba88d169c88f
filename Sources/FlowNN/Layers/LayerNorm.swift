import FlowTensor
import FlowAutodiff

/// Layer normalisation over the last axis (Ba et al. 2016): (x − mean) / √(var + ε) · γ + β, with the
/// biased variance as in PyTorch.
public final class LayerNorm: Module {
    public let gamma: Variable
    public let beta: Variable
    public let epsilon: Float

    public init(_ features: Int, epsilon: Float = 1e-5) {
        gamma = Variable(Tensor(shape: [features], repeating: 1), requiresGrad: true)
        beta = Variable(Tensor(zeros: [features]), requiresGrad: true)
        self.epsilon = epsilon
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        let centered = x - x.mean(axis: -1, keepDims: true)
        let variance = (centered * centered).mean(axis: -1, keepDims: true)
        return centered / (variance + epsilon).sqrt() * gamma + beta
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] { [("weight", gamma), ("bias", beta)] }
}

/// Inverted dropout: in training, zeroes each element with probability p and scales the rest by 1/(1−p).
public struct Dropout {
    public var probability: Float
    public init(probability: Float) {
        precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
        self.probability = probability
    }

    public func callAsFunction(_ x: Variable, training: Bool, rng: inout RandomGenerator) -> Variable {
        guard training, probability > 0 else { return x }
        let keep = 1 - probability
        let mask = rng.bernoulli(x.shape, probability: keep) * (1 / keep)
        return x * Variable(mask)
    }
}
