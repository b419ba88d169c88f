import FlowTensor
import FlowAutodiff
import FlowNN

/// Velocity field v_θ(x, t): an MLP on the concatenation [x, t] (torchcfm `MLP(dim, time_varying=True)`):
/// widths [dim + 1, hidden × layers, dim], activation after every hidden layer.
public final class TimeConditionedMLP: Module {
    public let dim: Int
    public let network: MLP

    public init(dim: Int, hiddenWidth: Int, hiddenLayers: Int, activation: ActivationKind, rng: inout RandomGenerator) {
        precondition(dim > 0 && hiddenWidth > 0 && hiddenLayers > 0, "TimeConditionedMLP needs positive sizes")
        self.dim = dim
        network = MLP(widths: [dim + 1] + Array(repeating: hiddenWidth, count: hiddenLayers) + [dim],
                      activation: activation, rng: &rng)
    }

    /// [x, t] as one [n, dim + 1] tensor; `t` holds one time per row.
    public func input(_ x: Tensor, times t: [Float]) -> Tensor {
        let n = x.shape[0], d = dim
        precondition(x.rank == 2 && x.shape[1] == d && t.count == n, "velocity input must be [n, \(d)] with n times")
        let out = Tensor(uninitialized: [n, d + 1])
        let src = x.storage.pointer, dst = out.storage.pointer
        for i in 0..<n {
            (dst + i &* (d + 1)).update(from: src + i &* d, count: d)
            dst[i &* (d + 1) &+ d] = t[i]
        }
        return withExtendedLifetime(x) { out }
    }

    /// v(x, t) on the graph (for training); x [n, dim], t one time per row.
    public func callAsFunction(_ x: Tensor, times t: [Float]) -> Variable {
        network(Variable(input(x, times: t)))
    }

    /// v(x, t) at one shared time, without recording gradients (for ODE solvers).
    public func velocity(_ x: Tensor, t: Double) -> Tensor {
        let times = [Float](repeating: Float(t), count: x.shape[0])
        return withoutGradients { network(Variable(input(x, times: times))).value }
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] { network.namedParameters() }
}
