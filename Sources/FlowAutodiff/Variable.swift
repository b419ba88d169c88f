import FlowTensor
import CFlowSupport

/// A node of the reverse-mode autodiff graph: a tensor value, and — when it depends on a tensor that
/// requires gradients — the inputs it was computed from and a closure mapping the gradient of the
/// output to the gradients of those inputs.
///
/// Leaves created with `requiresGrad: true` (parameters) accumulate their gradient in `grad` on each
/// `backward()`; intermediate gradients live only inside `backward()`. A tensor used several times
/// receives the sum of the gradients of all uses.
public final class Variable {
    /// The forward value.
    public internal(set) var value: Tensor
    /// Accumulated gradient of a leaf that requires gradients (nil until the first backward pass).
    public var grad: Tensor?
    /// True for parameters and for every value computed from one (outside `withoutGradients`).
    public let requiresGrad: Bool
    /// Inputs of the operation that produced this value (empty for leaves).
    let inputs: [Variable]
    /// Maps ∂L/∂self to ∂L/∂input for each input (nil = no gradient for that input).
    let pullback: ((Tensor) -> [Tensor?])?

    /// A leaf. Parameters pass `requiresGrad: true`.
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.inputs = []
        self.pullback = nil
    }

    /// An operation's result. The graph edge is kept only when an input requires gradients and
    /// recording is on; otherwise the result is a constant leaf.
    public init(_ value: Tensor, inputs: [Variable], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        let record = cflow_no_grad_depth() == 0 && inputs.contains { $0.requiresGrad }
        self.requiresGrad = record
        self.inputs = record ? inputs : []
        self.pullback = record ? pullback : nil
    }

    /// Shape of the value.
    public var shape: [Int] { value.shape }
    /// Rank of the value.
    public var rank: Int { value.rank }

    /// The value, cut from the graph (stop-gradient).
    public func detached() -> Variable { Variable(value) }

    /// Replaces a leaf's value in place (optimizers, loading weights). Not for graph nodes.
    public func assign(_ newValue: Tensor) {
        precondition(inputs.isEmpty, "assign is only for leaves")
        precondition(newValue.shape == value.shape, "assign: shape \(newValue.shape) differs from \(value.shape)")
        value = newValue
    }

    /// Gives optimizers in-place write access to a leaf's value.
    public func updateValue(_ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        value.withUnsafeMutableBufferPointer(body)
    }

    /// Backpropagates from this value. `seed` defaults to ones (so a scalar loss gets ∂L/∂L = 1).
    /// Gradients are added to the `grad` of every leaf that requires them.
    public func backward(seed: Tensor? = nil) {
        guard requiresGrad else { return }
        let start = seed ?? Tensor(shape: value.shape, repeating: 1)
        precondition(start.shape == value.shape, "backward seed shape \(start.shape) differs from \(value.shape)")
        // Topological order by iterative depth-first search.
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        for node in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            guard let pullback = node.pullback else {
                if node.grad == nil { node.grad = g.copy() } else { node.grad!.add(g) }
                continue
            }
            let inputGrads = pullback(g)
            for (input, ig) in zip(node.inputs, inputGrads) {
                guard input.requiresGrad, let ig else { continue }
                precondition(ig.count == input.value.count, "internal: gradient shape \(ig.shape) for input \(input.shape)")
                let key = ObjectIdentifier(input)
                if var existing = grads.removeValue(forKey: key) {
                    existing.add(ig)
                    grads[key] = existing
                } else {
                    grads[key] = ig.shape == input.value.shape ? ig : ig.reshaped(input.value.shape)
                }
            }
        }
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }
}

/// Runs `body` without recording the autodiff graph on this thread (inference, target networks).
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    let depth = cflow_no_grad_depth()
    cflow_set_no_grad_depth(depth + 1)
    defer { cflow_set_no_grad_depth(depth) }
    return try body()
}
