import FlowTensor
import FlowAutodiff
import FlowNN

/// The on-policy fast path: sampling runs the MLP without recording a graph but keeps every layer's
/// input and pre-activation; after the rollout the kept activations of all steps are stacked and one
/// batched backward pass (three matrix products per layer over all visited states) gives the parameter
/// gradients — no recomputed forward pass and no per-step graph.
struct KeptActivations {
    /// Input of each layer `[n, in_l]` (layer 0: the encodings).
    var inputs: [Tensor]
    /// Pre-activation of each hidden layer `[n, out_l]` (not the output layer).
    var preActivations: [Tensor]
    /// Network output `[n, outputWidth]`.
    var output: Tensor
}

extension PolicyEstimator {
    /// Forward pass of x `[n, input]` without a graph, keeping what the batched backward needs.
    func forwardKeepingActivations(_ x: Tensor) -> KeptActivations {
        let layers = network.layers
        var inputs: [Tensor] = [], pre: [Tensor] = []
        var h = x
        for (l, layer) in layers.enumerated() {
            inputs.append(h)
            let z = withoutGradients { layer(Variable(h)).value }
            if l < layers.count - 1 {
                pre.append(z)
                h = withoutGradients { network.activation(Variable(z)).value }
            } else {
                h = l == layers.count - 1 && network.outputActivation != .identity
                    ? withoutGradients { network.outputActivation(Variable(z)).value } : z
            }
        }
        return KeptActivations(inputs: inputs, preActivations: pre, output: h)
    }

    /// A graph node whose value is the stacked outputs of `steps` and whose pullback is the MLP's
    /// backward over all their rows at once (gradients for every parameter, in `parameters` order).
    func batchedOutput(of steps: [KeptActivations]) -> Variable {
        precondition(network.outputActivation == .identity, "the kept-activation path needs a linear output layer")
        let layerCount = network.layers.count
        let inputs = (0..<layerCount).map { l in Tensor.concat(steps.map { $0.inputs[l] }, axis: 0) }
        let pre = (0..<(layerCount - 1)).map { l in Tensor.concat(steps.map { $0.preActivations[l] }, axis: 0) }
        let output = Tensor.concat(steps.map(\.output), axis: 0)
        let layers = network.layers
        let activation = network.activation
        let parameters = self.parameters
        return Variable(output, inputs: parameters) { g in
            var grads: [Tensor?] = []
            var upstream = g                                   // ∂L/∂z_l [n, out_l]
            for l in stride(from: layerCount - 1, through: 0, by: -1) {
                let layer = layers[l]
                let dW = upstream.matmul(inputs[l], transposeSelf: true)   // [out, n]·[n, in]
                var layerGrads: [Tensor?] = [dW]
                if let bias = layer.bias { layerGrads.append(upstream.sumToShape(bias.shape)) }
                grads = layerGrads + grads
                if l > 0 {
                    let da = upstream.matmul(layer.weight.value)          // [n, in_l]
                    upstream = activationBackward(activation, preActivation: pre[l - 1], gradient: da)
                }
            }
            return grads
        }
    }
}

/// ∂L/∂z = ∂L/∂a ⊙ σ′(z) for a = σ(z) (ReLU and leaky ReLU directly, others through the autodiff op).
func activationBackward(_ kind: ActivationKind, preActivation z: Tensor, gradient: Tensor) -> Tensor {
    switch kind {
    case .identity:
        return gradient
    case .relu:
        return gradient.zipMap(z) { g, v in v > 0 ? g : 0 }
    case .leakyRelu:
        return gradient.zipMap(z) { g, v in v > 0 ? g : 0.01 * g }
    default:
        let leaf = Variable(z, requiresGrad: true)
        kind(leaf).backward(seed: gradient)
        return leaf.grad ?? Tensor(zeros: z.shape)
    }
}
