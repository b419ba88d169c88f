import FlowTensor
import FlowAutodiff
import FlowNN

/// Velocity field v_θ(x, t[, c]): an MLP on the concatenation [x, t] (torchcfm `MLP(dim,
/// time_varying=True)`), optionally followed by a one-hot class code of `classes` entries:
/// widths [dim + 1 + classes, hidden × layers, dim], activation after every hidden layer.
/// Label −1 ("no label") is the all-zero code, which is what label dropout trains and what the
/// unconditional branch of classifier-free guidance evaluates.
public final class TimeConditionedMLP: Module {
    public let dim: Int
    /// Number of classes of the conditioning code (0 = unconditional model).
    public let classes: Int
    public let network: MLP

    public init(dim: Int, hiddenWidth: Int, hiddenLayers: Int, activation: ActivationKind, classes: Int = 0,
                rng: inout RandomGenerator) {
        precondition(dim > 0 && hiddenWidth > 0 && hiddenLayers > 0 && classes >= 0, "TimeConditionedMLP needs positive sizes")
        self.dim = dim
        self.classes = classes
        network = MLP(widths: [dim + 1 + classes] + Array(repeating: hiddenWidth, count: hiddenLayers) + [dim],
                      activation: activation, rng: &rng)
    }

    /// Columns of the network input: x, t, then the class code.
    public var inputWidth: Int { dim + 1 + classes }

    /// [x, t, onehot(label)] as one [n, inputWidth] tensor; `t` holds one time per row, `labels` one
    /// label per row in −1 ..< classes (−1 or nil = no label).
    public func input(_ x: Tensor, times t: [Float], labels: [Int32]? = nil) -> Tensor {
        let n = x.shape[0], d = dim, w = inputWidth
        precondition(x.rank == 2 && x.shape[1] == d && t.count == n, "velocity input must be [n, \(d)] with n times")
        if let labels { precondition(labels.count == n, "one label per row") }
        let out = Tensor(zeros: [n, w])
        let src = x.storage.pointer, dst = out.storage.pointer
        for i in 0..<n {
            (dst + i &* w).update(from: src + i &* d, count: d)
            dst[i &* w &+ d] = t[i]
            if let labels, labels[i] >= 0 {
                precondition(Int(labels[i]) < classes, "label \(labels[i]) out of range 0..<\(classes)")
                dst[i &* w &+ d &+ 1 &+ Int(labels[i])] = 1
            }
        }
        return withExtendedLifetime(x) { out }
    }

    /// v(x, t[, c]) on the graph (for training); x [n, dim], t one time per row.
    public func callAsFunction(_ x: Tensor, times t: [Float], labels: [Int32]? = nil) -> Variable {
        network(Variable(input(x, times: t, labels: labels)))
    }

    /// v(x, t[, c]) at one shared time, without recording gradients (for ODE solvers; `MLP.evaluate`).
    public func velocity(_ x: Tensor, t: Double, labels: [Int32]? = nil) -> Tensor {
        let times = [Float](repeating: Float(t), count: x.shape[0])
        return network.evaluate(input(x, times: times, labels: labels))
    }

    /// Classifier-free guided velocity (Ho & Salimans 2022) from the conditional v_c (labels) and the
    /// unconditional v_u (no label), computed in one batched pass of 2n rows. Rows whose label is −1 get
    /// v_u. See `GuidanceConvention` for the two parametrisations of `weight`.
    public func guidedVelocity(_ x: Tensor, t: Double, labels: [Int32], weight: Float, convention: GuidanceConvention) -> Tensor {
        let n = x.shape[0], d = dim
        precondition(labels.count == n, "one label per row")
        let doubled = Tensor(uninitialized: [2 * n, d])
        let px = x.storage.pointer, pd = doubled.storage.pointer
        pd.update(from: px, count: n * d)
        (pd + n * d).update(from: px, count: n * d)
        let both = velocity(doubled, t: t, labels: labels + [Int32](repeating: -1, count: n))
        let (a, b) = convention.coefficients(weight)   // v = a·v_c + b·v_u
        let out = Tensor(uninitialized: [n, d])
        let pb = both.storage.pointer, po = out.storage.pointer
        for i in 0..<n {
            let conditional = labels[i] >= 0
            for j in 0..<d {
                let vc = pb[i &* d &+ j], vu = pb[(n &+ i) &* d &+ j]
                po[i &* d &+ j] = conditional ? a * vc + b * vu : vu
            }
        }
        return withExtendedLifetime((x, doubled, both)) { out }
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] { network.namedParameters() }
}

/// The two common parametrisations of classifier-free guidance; both give the same family of fields
/// (`.scaled` with w equals `.interpolate` with 1 + w).
public enum GuidanceConvention: UInt32, CaseIterable, Sendable {
    /// v = v_u + w (v_c − v_u) (Ho & Salimans 2022 as written in LFM/DiT `forward_with_cfg`): w = 1 is
    /// the plain conditional field, w = 0 the unconditional one, w > 1 sharpens.
    case interpolate = 0
    /// v = (1 + w) v_c − w v_u (Ho & Salimans 2022 eq. 6 form; CellFlow): w = 0 is the plain conditional
    /// field, w > 0 sharpens.
    case scaled = 1

    /// The convention named "interpolate" or "scaled" (CLI spelling), or nil.
    public init?(name: String) {
        switch name {
        case "interpolate": self = .interpolate
        case "scaled": self = .scaled
        default: return nil
        }
    }

    /// (a, b) with v = a·v_c + b·v_u.
    public func coefficients(_ w: Float) -> (Float, Float) {
        switch self {
        case .interpolate: return (w, 1 - w)
        case .scaled: return (1 + w, -w)
        }
    }
}
