import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

extension Variable {
    /// Sum of all elements → scalar [].
    public func sum() -> Variable {
        let shape = value.shape
        return Variable(Tensor(value.sum()), inputs: [self]) { g in [Tensor(shape: shape, repeating: g.scalar)] }
    }

    /// Mean of all elements → scalar [].
    public func mean() -> Variable {
        let n = Float(Swift.max(value.count, 1))
        return sum() * (1 / n)
    }

    /// Sum along `axis`.
    public func sum(axis: Int, keepDims: Bool = false) -> Variable {
        let shape = value.shape
        let ax = Shape.normalize(axis: axis, rank: shape.count)
        return Variable(value.sum(axis: ax, keepDims: keepDims), inputs: [self]) { g in
            [g.reshaped(Shape.reduced(shape, axis: ax, keepDims: true)).broadcastMap(Tensor(zeros: shape)) { a, _ in a }]
        }
    }

    /// Mean along `axis`.
    public func mean(axis: Int, keepDims: Bool = false) -> Variable {
        let ax = Shape.normalize(axis: axis, rank: rank)
        return sum(axis: ax, keepDims: keepDims) * (1 / Float(Swift.max(shape[ax], 1)))
    }

    /// Maximum along `axis`; the gradient flows to the first maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Variable { extreme(axis: axis, keepDims: keepDims, largest: true) }
    /// Minimum along `axis`; the gradient flows to the first minimal element.
    public func min(axis: Int, keepDims: Bool = false) -> Variable { extreme(axis: axis, keepDims: keepDims, largest: false) }

    private func extreme(axis: Int, keepDims: Bool, largest: Bool) -> Variable {
        let shape = value.shape
        let ax = Shape.normalize(axis: axis, rank: shape.count)
        let (values, indices) = value.extreme(axis: ax, keepDims: keepDims, largest: largest)
        return Variable(values, inputs: [self]) { g in
            let (outer, n, inner) = Shape.split(shape, axis: ax)
            let out = Tensor(zeros: shape)
            let gp = g.storage.pointer, op = out.storage.pointer
            for o in 0..<outer {
                for i in 0..<inner {
                    let k = o &* inner &+ i
                    op[(o &* n &+ indices[k]) &* inner &+ i] = gp[k]
                }
            }
            return [out]
        }
    }

    /// log Σ exp along `axis`. Backward: softmax weights (0 for rows that are all -inf).
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Variable {
        let x = value
        let ax = Shape.normalize(axis: axis, rank: x.rank)
        let lse = x.logSumExp(axis: ax, keepDims: true)
        let out = keepDims ? lse : lse.reshaped(Shape.reduced(x.shape, axis: ax, keepDims: false))
        return Variable(out, inputs: [self]) { g in
            let gk = g.reshaped(lse.shape)
            let weights = x.broadcastMap(lse) { xi, l in l == -.infinity ? 0 : expf(xi - l) }
            return [weights * gk]
        }
    }

    /// log softmax along `axis`. Backward: g − softmax · Σg.
    public func logSoftmax(axis: Int) -> Variable {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let y = value.logSoftmax(axis: ax)
        return Variable(y, inputs: [self]) { g in
            let gsum = g.sum(axis: ax, keepDims: true)
            let p = y.map { expf($0) }
            return [g - p * gsum]
        }
    }

    /// softmax along `axis`. Backward: y ⊙ (g − Σ g y).
    public func softmax(axis: Int) -> Variable {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let y = value.softmax(axis: ax)
        return Variable(y, inputs: [self]) { g in
            let dot = (g * y).sum(axis: ax, keepDims: true)
            return [y * (g - dot)]
        }
    }
}
