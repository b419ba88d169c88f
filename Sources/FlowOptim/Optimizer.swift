import FlowTensor
import FlowAutodiff
import CFlowSupport
#if canImport(Glibc)
import Glibc
#endif

/// Parameters that share hyper-parameters (e.g. a GFlowNet's log Z with its own learning rate).
public struct ParameterGroup {
    public var parameters: [Variable]
    /// Base learning rate (the schedule multiplies it).
    public var learningRate: Float
    public var weightDecay: Float

    public init(parameters: [Variable], learningRate: Float, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }
}

/// A first-order optimizer. Subclasses supply the per-parameter state and the update rule
/// (`newState` + `applySingle`, as in mlx-swift); the base class loops over groups, applies the
/// schedule and keeps the step count.
open class Optimizer {
    public var groups: [ParameterGroup]
    /// Number of `step()` calls so far.
    public var stepCount: Int = 0
    /// Learning-rate multiplier as a function of the step about to be taken (1-based).
    public var schedule: LearningRateSchedule = .constant
    /// Per-parameter state tensors, indexed [group][parameter][slot].
    public var state: [[[Tensor]]] = []

    public init(groups: [ParameterGroup]) {
        self.groups = groups
        self.state = groups.map { g in g.parameters.map { newState(for: $0.value) } }
    }

    /// Fresh state slots for a parameter (e.g. Adam's two moments).
    open func newState(for parameter: Tensor) -> [Tensor] { [] }

    /// Updates one parameter in place from its gradient.
    open func applySingle(parameter: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>,
                          state: inout [Tensor], learningRate: Float, weightDecay: Float, step: Int) {}

    /// One update of every parameter that has a gradient. Gradients are left in place (call
    /// `zeroGrad()` on the module, or `clearGradients()`).
    public func step() {
        stepCount += 1
        let factor = schedule.factor(step: stepCount)
        for gi in groups.indices {
            let group = groups[gi]
            let lr = group.learningRate * factor
            for pi in group.parameters.indices {
                let p = group.parameters[pi]
                guard let grad = p.grad else { continue }
                var slots = state[gi][pi]
                state[gi][pi] = []
                grad.withUnsafeBufferPointer { g in
                    p.updateValue { w in
                        applySingle(parameter: w, gradient: g, state: &slots, learningRate: lr,
                                    weightDecay: group.weightDecay, step: stepCount)
                    }
                }
                state[gi][pi] = slots
            }
        }
    }

    /// Clears the gradients of every parameter in every group.
    public func clearGradients() { for g in groups { for p in g.parameters { p.zeroGrad() } } }

    /// The state as named tensors ("g<group>.p<param>.s<slot>") for checkpoints.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        for (gi, g) in state.enumerated() {
            for (pi, slots) in g.enumerated() {
                for (si, t) in slots.enumerated() { out.append(("g\(gi).p\(pi).s\(si)", t.copy())) }
            }
        }
        return out
    }

    /// Restores state saved by `stateTensors()`; returns a message naming the first missing or
    /// mis-shaped slot instead of changing anything.
    public func loadStateTensors(_ tensors: [(name: String, tensor: Tensor)], stepCount: Int) -> String? {
        var byName: [String: Tensor] = [:]
        for (n, t) in tensors { byName[n] = t }
        var fresh = state
        for gi in state.indices {
            for pi in state[gi].indices {
                for si in state[gi][pi].indices {
                    let name = "g\(gi).p\(pi).s\(si)"
                    guard let t = byName[name] else { return "optimizer state '\(name)' is missing" }
                    guard t.shape == state[gi][pi][si].shape else {
                        return "optimizer state '\(name)' has shape \(t.shape), expected \(state[gi][pi][si].shape)"
                    }
                    fresh[gi][pi][si] = t.copy()
                }
            }
        }
        state = fresh
        self.stepCount = stepCount
        return nil
    }
}

/// Stochastic gradient descent with momentum (PyTorch semantics: buf = μ·buf + g; p −= lr·buf) and
/// L2 weight decay added to the gradient.
public final class SGD: Optimizer {
    public let momentum: Float

    public init(groups: [ParameterGroup], momentum: Float = 0) {
        self.momentum = momentum
        super.init(groups: groups)
    }

    public convenience init(parameters: [Variable], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.init(groups: [ParameterGroup(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  momentum: momentum)
    }

    public override func newState(for parameter: Tensor) -> [Tensor] { [Tensor(zeros: parameter.shape)] }

    public override func applySingle(parameter w: UnsafeMutableBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>,
                                     state: inout [Tensor], learningRate lr: Float, weightDecay: Float, step: Int) {
        let mu = momentum, first = step == 1
        state[0].withUnsafeMutableBufferPointer { buf in
            for i in 0..<w.count {
                let gi = g[i] + weightDecay * w[i]
                let b = (mu == 0 || first) ? gi : mu * buf[i] + gi
                buf[i] = b
                w[i] -= lr * b
            }
        }
    }
}

/// Adam (Kingma & Ba 2015) with bias correction; `decoupledWeightDecay` gives AdamW
/// (Loshchilov & Hutter 2019: p −= lr·wd·p before the Adam step), otherwise weight decay is L2 added to
/// the gradient (PyTorch's Adam).
public class Adam: Optimizer {
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let decoupledWeightDecay: Bool

    public init(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                decoupledWeightDecay: Bool = false) {
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.decoupledWeightDecay = decoupledWeightDecay
        super.init(groups: groups)
    }

    public convenience init(parameters: [Variable], learningRate: Float = 1e-3, weightDecay: Float = 0) {
        self.init(groups: [ParameterGroup(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)])
    }

    public override func newState(for parameter: Tensor) -> [Tensor] {
        [Tensor(zeros: parameter.shape), Tensor(zeros: parameter.shape)]
    }

    public override func applySingle(parameter w: UnsafeMutableBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>,
                                     state: inout [Tensor], learningRate lr: Float, weightDecay: Float, step: Int) {
        let b1 = beta1, b2 = beta2, eps = epsilon
        let correction1 = 1 - powf(b1, Float(step))
        let correction2Root = (1 - powf(b2, Float(step))).squareRoot()
        let stepSize = lr / correction1
        let decoupled = decoupledWeightDecay
        let decayFactor = decoupled ? 1 - lr * weightDecay : 1
        let l2 = decoupled ? 0 : weightDecay
        var m = state[0], v = state[1]
        state = []
        m.withUnsafeMutableBufferPointer { mp in v.withUnsafeMutableBufferPointer { vp in
            cflow_adam_update(w.baseAddress!, g.baseAddress!, mp.baseAddress!, vp.baseAddress!, w.count,
                              b1, b2, stepSize, correction2Root, eps, decayFactor, l2)
        } }
        state = [m, v]
    }
}

/// AdamW: Adam with decoupled weight decay (default 0.01 as in PyTorch).
public final class AdamW: Adam {
    public init(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        super.init(groups: groups, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupledWeightDecay: true)
    }

    public convenience init(parameters: [Variable], learningRate: Float = 1e-3, weightDecay: Float = 0.01) {
        self.init(groups: [ParameterGroup(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay)])
    }
}
