import FlowTensor
import CFlowSupport
#if canImport(Glibc)
import Glibc
#endif

extension Variable {
    /// Applies f element-wise; the backward multiplies by f'(x) computed from (x, y = f(x)).
    @inline(__always)
    func unary(_ f: (Float) -> Float, derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Variable {
        let x = value
        let y = x.map(f)
        return Variable(y, inputs: [self]) { g in
            let out = Tensor(uninitialized: g.shape)
            let gp = g.storage.pointer, xp = x.storage.pointer, yp = y.storage.pointer, op = out.storage.pointer
            for i in 0..<g.count { op[i] = gp[i] * derivative(xp[i], yp[i]) }
            return [out]
        }
    }

    /// Like `unary`, with the forward computed by a vectorised array kernel.
    @inline(__always)
    func unaryKernel(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                     derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Variable {
        let x = value
        let y = Tensor(uninitialized: x.shape)
        kernel(x.storage.pointer, y.storage.pointer, x.count)
        return Variable(y, inputs: [self]) { g in
            let out = Tensor(uninitialized: g.shape)
            let gp = g.storage.pointer, xp = x.storage.pointer, yp = y.storage.pointer, op = out.storage.pointer
            for i in 0..<g.count { op[i] = gp[i] * derivative(xp[i], yp[i]) }
            return [out]
        }
    }

    /// Forward and backward both by vectorised array kernels; `backward(g, x, y, out, n)` writes
    /// out = g · f'(x).
    @inline(__always)
    func unaryKernels(
        forward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
        backward: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> Variable {
        let x = value
        let y = Tensor(uninitialized: x.shape)
        forward(x.storage.pointer, y.storage.pointer, x.count)
        return Variable(y, inputs: [self]) { g in
            let out = Tensor(uninitialized: g.shape)
            backward(g.storage.pointer, x.storage.pointer, y.storage.pointer, out.storage.pointer, g.count)
            return [out]
        }
    }

    public func exp() -> Variable { unaryKernel(cflow_exp) { _, y in y } }
    public func log() -> Variable { unary(logf) { x, _ in 1 / x } }
    public func log1p() -> Variable { unary(log1pf) { x, _ in 1 / (1 + x) } }
    public func sqrt() -> Variable { unary(sqrtf) { _, y in 0.5 / y } }
    /// |x|; the gradient at 0 is 0.
    public func abs() -> Variable { unary(fabsf) { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) } }
    public func tanh() -> Variable {
        unaryKernels(forward: { cflow_tanh($0, $1, $2) }, backward: { g, _, y, o, n in cflow_tanh_backward(g, y, o, n) })
    }
    public func sigmoid() -> Variable {
        unaryKernels(forward: { cflow_sigmoid($0, $1, $2) }, backward: { g, _, y, o, n in cflow_sigmoid_backward(g, y, o, n) })
    }
    /// max(0, x); gradient 0 at x = 0 (PyTorch's convention).
    public func relu() -> Variable { leakyRelu(slope: 0) }
    public func leakyRelu(slope: Float = 0.01) -> Variable {
        unaryKernels(forward: { cflow_leaky_relu($0, $1, $2, slope) },
                     backward: { g, x, _, o, n in cflow_leaky_relu_backward(g, x, o, n, slope) })
    }
    /// x for x > 0, α(eˣ − 1) otherwise.
    public func elu(alpha: Float = 1) -> Variable {
        unaryKernels(forward: { cflow_scaled_elu($0, $1, $2, 1, alpha) },
                     backward: { g, x, y, o, n in cflow_scaled_elu_backward(g, x, y, o, n, 1, alpha) })
    }
    /// λ·elu(x, α) with the self-normalising constants of Klambauer et al. (2017).
    public func selu() -> Variable {
        let l = Activation.seluScale, a = Activation.seluAlpha
        return unaryKernels(forward: { cflow_scaled_elu($0, $1, $2, l, a) },
                            backward: { g, x, y, o, n in cflow_scaled_elu_backward(g, x, y, o, n, l, a) })
    }
    /// x·Φ(x) with the exact normal CDF (PyTorch's default GELU).
    public func gelu() -> Variable { unary(Activation.gelu) { x, _ in Activation.geluDerivative(x) } }
    /// x·σ(x).
    public func silu() -> Variable {
        unary({ $0 * Activation.sigmoid($0) }) { x, _ in
            let s = Activation.sigmoid(x); return s * (1 + x * (1 - s))
        }
    }
    /// log(1 + eˣ), computed stably.
    public func softplus() -> Variable { unary(Activation.softplus) { x, _ in Activation.sigmoid(x) } }
    /// Clamps into [low, high]; the gradient is 1 strictly inside and 0 outside.
    public func clamp(min low: Float = -.infinity, max high: Float = .infinity) -> Variable {
        unary({ Swift.min(Swift.max($0, low), high) }) { x, _ in (x >= low && x <= high) ? 1 : 0 }
    }
}

/// Scalar activation functions shared by the autodiff ops and the fused kernels.
public enum Activation {
    public static let seluAlpha: Float = 1.6732632423543772848170429916717
    public static let seluScale: Float = 1.0507009873554804934193349852946

    /// In-place forward kernels over a raw buffer of `n` floats: the same vectorised kernels the autodiff ops
    /// run, for inference paths that keep their own buffers.
    public static func leakyReluInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, slope: Float) { cflow_leaky_relu(p, p, n, slope) }
    /// λ·elu(x, α) in place (λ = 1 for ELU).
    public static func scaledEluInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, scale: Float, alpha: Float) {
        cflow_scaled_elu(p, p, n, scale, alpha)
    }
    public static func tanhInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) { cflow_tanh(p, p, n) }
    public static func sigmoidInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) { cflow_sigmoid(p, p, n) }

    @inline(__always) public static func sigmoid(_ x: Float) -> Float {
        x >= 0 ? 1 / (1 + expf(-x)) : { let e = expf(x); return e / (1 + e) }()
    }
    @inline(__always) public static func softplus(_ x: Float) -> Float {
        x > 20 ? x : (x < -20 ? expf(x) : log1pf(expf(x)))
    }
    @inline(__always) public static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + erff(x * 0.70710678118654752))
    }
    @inline(__always) public static func geluDerivative(_ x: Float) -> Float {
        let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
        let pdf = expf(-0.5 * x * x) * 0.3989422804014327
        return cdf + x * pdf
    }
}
