import FlowTensor

/// Weight initialisation schemes (He et al. 2015; Glorot & Bengio 2010). `fanIn`/`fanOut` follow
/// PyTorch: for a weight [out, in, …], fanIn = in·receptive, fanOut = out·receptive.
public enum Initializer: Sendable {
    /// U(−b, b) with b = gain·√(3/fanIn), gain = √(2/(1+a²)). a = √5 reproduces nn.Linear's default.
    case kaimingUniform(a: Float)
    /// N(0, gain²/fanIn), gain = √(2/(1+a²)).
    case kaimingNormal(a: Float)
    /// U(−b, b) with b = gain·√(6/(fanIn+fanOut)).
    case xavierUniform(gain: Float)
    /// N(0, gain²·2/(fanIn+fanOut)).
    case xavierNormal(gain: Float)
    /// U(low, high).
    case uniform(low: Float, high: Float)
    /// N(mean, std²).
    case normal(mean: Float, std: Float)
    /// A constant.
    case constant(Float)

    /// PyTorch's nn.Linear weight default.
    public static let torchLinearDefault = Initializer.kaimingUniform(a: Float(5).squareRoot())

    /// A tensor of `shape` drawn from this scheme.
    public func make(_ shape: [Int], rng: inout RandomGenerator) -> Tensor {
        let receptive = shape.dropFirst(2).reduce(1, *)
        let fanIn = Float(Swift.max(1, (shape.count > 1 ? shape[1] : shape.first ?? 1) * receptive))
        let fanOut = Float(Swift.max(1, (shape.first ?? 1) * receptive))
        switch self {
        case .kaimingUniform(let a):
            let bound = (2 / (1 + a * a)).squareRoot() * (3 / fanIn).squareRoot()
            return rng.uniform(shape, low: -bound, high: bound)
        case .kaimingNormal(let a):
            return rng.normal(shape, std: (2 / (1 + a * a)).squareRoot() / fanIn.squareRoot())
        case .xavierUniform(let gain):
            let bound = gain * (6 / (fanIn + fanOut)).squareRoot()
            return rng.uniform(shape, low: -bound, high: bound)
        case .xavierNormal(let gain):
            return rng.normal(shape, std: gain * (2 / (fanIn + fanOut)).squareRoot())
        case .uniform(let low, let high):
            return rng.uniform(shape, low: low, high: high)
        case .normal(let mean, let std):
            return rng.normal(shape, mean: mean, std: std)
        case .constant(let c):
            return Tensor(shape: shape, repeating: c)
        }
    }
}
