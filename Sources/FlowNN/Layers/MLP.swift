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

    /// x [n, input] → [n, output] for inference, without an autodiff graph (`evaluateDenseLayers`). Same values
    /// as `callAsFunction` up to the summation order of the matrix products.
    public func evaluate(_ x: Tensor, rowBlock: Int = 128) -> Tensor {
        evaluateDenseLayers(x, layers: layers.map { ($0.weight.value, $0.bias?.value) }, activation: activation,
                            outputActivation: outputActivation, rowBlock: rowBlock)
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        layers.enumerated().flatMap { scoped("layers.\($0.offset)", $0.element) }
    }
}

/// A stack of dense layers y = act(x Wᵀ + b) ([out, in] weights, optional [out] biases; `outputActivation` after
/// the last) applied to x [n, in] for inference, without an autodiff graph: rows go through every layer in blocks
/// of `rowBlock`, so each block's activations stay in cache and only two block-sized scratch buffers are
/// allocated (the graph path allocates a full [n, width] tensor per op).
public func evaluateDenseLayers(_ x: Tensor, layers: [(weight: Tensor, bias: Tensor?)], activation: ActivationKind,
                                outputActivation: ActivationKind, rowBlock: Int = 128) -> Tensor {
    let n = x.shape[0], block = Swift.max(rowBlock, 1)
    let widths = [x.shape[1]] + layers.map { $0.weight.shape[0] }
    precondition(x.rank == 2 && !layers.isEmpty && zip(layers, widths).allSatisfy { $0.weight.shape[1] == $1 },
                 "evaluateDenseLayers: input \(x.shape) does not match the layers")
    let out = Tensor(uninitialized: [n, widths[widths.count - 1]])
    let widest = widths.max() ?? 1
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 &* block &* widest)
    defer { scratch.deallocate() }
    let input = x.storage.pointer, output = out.storage.pointer
    var start = 0
    while start < n {
        let rows = Swift.min(block, n &- start)
        var source = UnsafePointer(input + start &* widths[0])
        for (i, layer) in layers.enumerated() {
            let last = i == layers.count - 1, inWidth = widths[i], width = widths[i + 1]
            let target = last ? output + start &* width : scratch + (i % 2) &* block &* widest
            if let bias = layer.bias {
                let b = bias.storage.pointer
                for r in 0..<rows { (target + r &* width).update(from: b, count: width) }
            }
            BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: width, k: inWidth, a: source, lda: inWidth,
                      b: layer.weight.storage.pointer, ldb: inWidth, beta: layer.bias == nil ? 0 : 1, c: target, ldc: width)
            (last ? outputActivation : activation).applyInPlace(target, count: rows &* width)
            source = UnsafePointer(target)
        }
        start &+= rows
    }
    return withExtendedLifetime((x, layers)) { out }
}
