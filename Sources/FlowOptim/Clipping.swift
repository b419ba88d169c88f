import FlowTensor
import FlowAutodiff

/// Scales all gradients so that their global L2 norm is at most `maxNorm` (torch.nn.utils
/// .clip_grad_norm_). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Variable], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters {
        p.grad?.withUnsafeBufferPointer { for v in $0 { total += Double(v * v) } }
    }
    let norm = Float(total.squareRoot())
    let scale = maxNorm / (norm + 1e-6)
    if scale < 1 {
        for p in parameters where p.grad != nil {
            p.grad!.withUnsafeMutableBufferPointer { for i in 0..<$0.count { $0[i] *= scale } }
        }
    }
    return norm
}

/// Exponential moving average of parameters: shadow = decay·shadow + (1 − decay)·param.
public final class ExponentialMovingAverage {
    public let decay: Float
    public let parameters: [Variable]
    public private(set) var shadow: [Tensor]

    public init(parameters: [Variable], decay: Float) {
        precondition(decay >= 0 && decay <= 1, "EMA decay must be in [0, 1]")
        self.decay = decay
        self.parameters = parameters
        self.shadow = parameters.map { $0.value.copy() }
    }

    /// Folds the current parameter values into the average.
    public func update() {
        let d = decay
        for i in parameters.indices {
            let src = parameters[i].value
            src.withUnsafeBufferPointer { p in
                shadow[i].withUnsafeMutableBufferPointer { s in
                    for j in 0..<s.count { s[j] = d * s[j] + (1 - d) * p[j] }
                }
            }
        }
    }

    /// Copies the averaged values into the parameters.
    public func copyToParameters() {
        for i in parameters.indices { parameters[i].assign(shadow[i].copy()) }
    }
}
