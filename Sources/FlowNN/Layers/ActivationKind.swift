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
}
