import FlowAutodiff

/// Named element-wise nonlinearities for layer builders.
public enum ActivationKind: String, CaseIterable, Sendable {
    case identity, relu, leakyRelu = "leaky_relu", tanh, sigmoid, elu, selu, gelu, silu, softplus

    /// Applies the nonlinearity.
    public func callAsFunction(_ x: Variable) -> Variable {
        switch self {
        case .identity: return x
        case .relu: return x.relu()
        case .leakyRelu: return x.leakyRelu()
        case .tanh: return x.tanh()
        case .sigmoid: return x.sigmoid()
        case .elu: return x.elu()
        case .selu: return x.selu()
        case .gelu: return x.gelu()
        case .silu: return x.silu()
        case .softplus: return x.softplus()
        }
    }

    /// Applies the nonlinearity in place to `count` floats at `p` (inference: no gradient is recorded).
    /// Same values as `callAsFunction`.
    public func applyInPlace(_ p: UnsafeMutablePointer<Float>, count n: Int) {
        switch self {
        case .identity: return
        case .relu: Activation.leakyReluInPlace(p, n, slope: 0)
        case .leakyRelu: Activation.leakyReluInPlace(p, n, slope: 0.01)
        case .tanh: Activation.tanhInPlace(p, n)
        case .sigmoid: Activation.sigmoidInPlace(p, n)
        case .elu: Activation.scaledEluInPlace(p, n, scale: 1, alpha: 1)
        case .selu: Activation.scaledEluInPlace(p, n, scale: Activation.seluScale, alpha: Activation.seluAlpha)
        case .gelu: for i in 0..<n { p[i] = Activation.gelu(p[i]) }
        case .silu: for i in 0..<n { p[i] = p[i] * Activation.sigmoid(p[i]) }
        case .softplus: for i in 0..<n { p[i] = Activation.softplus(p[i]) }
        }
    }
}
