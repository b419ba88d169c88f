import FlowTensor
import FlowAutodiff

/// Multilayer perceptron: Linear → activation → … → Linear (no activation after the last layer
/// unless `outputActivation` is set). `widths` = [input, hidden…, output].
public final class MLP: Module {
    public let layers: [Linear]
    public let activation: ActivationKind
    public let outputActivation: ActivationKind

    public init(widths: [Int], activation: ActivationKind = .relu, outputActivation: ActivationKind = .identity,
                rng: inout RandomGenerator) {
        precondition(widths.count >= 2 && widths.allSatisfy { $0 > 0 }, "MLP widths must be ≥ 2 positive sizes, got \(widths)")
        var layers: [Linear] = []
        for i in 0..<(widths.count - 1) { layers.append(Linear(widths[i], widths[i + 1], rng: &rng)) }
        self.layers = layers
        self.activation = activation
        self.outputActivation = outputActivation
    }

    /// Layer widths [input, hidden…, output].
    public var widths: [Int] { [layers[0].inFeatures] + layers.map(\.outFeatures) }

    /// x [n, input] → [n, output].
    public func callAsFunction(_ x: Variable) -> Variable {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = layer(h)
            h = i < layers.count - 1 ? activation(h) : outputActivation(h)
        }
        return h
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        layers.enumerated().flatMap { scoped("layers.\($0.offset)", $0.element) }
    }
}
