import FlowTensor
import FlowAutodiff

/// Affine layer y = x Wᵀ + b; weight [out, in], bias [out] (PyTorch's layout and default init).
public final class Linear: Module {
    public let weight: Variable
    public let bias: Variable?
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true,
                weightInit: Initializer = .torchLinearDefault, rng: inout RandomGenerator) {
        weight = Variable(weightInit.make([outFeatures, inFeatures], rng: &rng), requiresGrad: true)
        if bias {
            let bound = 1 / Float(Swift.max(inFeatures, 1)).squareRoot()
            self.bias = Variable(rng.uniform([outFeatures], low: -bound, high: bound), requiresGrad: true)
        } else {
            self.bias = nil
        }
    }

    /// x [n, in] → [n, out].
    public func callAsFunction(_ x: Variable) -> Variable { linear(x, weight: weight, bias: bias) }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        var p: [(String, Variable)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }
}
