import FlowTensor
import FlowAutodiff
#if canImport(Glibc)
import Glibc
#endif

/// Mean squared error, averaged over all elements.
public func meanSquaredError(predicted: Variable, expected: Tensor) -> Variable {
    precondition(predicted.shape == expected.shape, "meanSquaredError: \(predicted.shape) vs \(expected.shape)")
    let diff = predicted.value - expected
    let n = Float(Swift.max(diff.count, 1))
    var total: Double = 0
    diff.withUnsafeBufferPointer { for v in $0 { total += Double(v * v) } }
    return Variable(Tensor(Float(total / Double(n))), inputs: [predicted]) { g in [diff * (2 * g.scalar / n)] }
}

/// Huber loss with threshold δ, averaged: ½d² if |d| ≤ δ, δ(|d| − ½δ) otherwise.
public func huberLoss(predicted: Variable, expected: Tensor, delta: Float = 1) -> Variable {
    precondition(predicted.shape == expected.shape, "huberLoss: \(predicted.shape) vs \(expected.shape)")
    let diff = predicted.value - expected
    let n = Float(Swift.max(diff.count, 1))
    var total: Double = 0
    diff.withUnsafeBufferPointer {
        for d in $0 { let a = Swift.abs(d); total += Double(a <= delta ? 0.5 * d * d : delta * (a - 0.5 * delta)) }
    }
    return Variable(Tensor(Float(total / Double(n))), inputs: [predicted]) { g in
        let s = g.scalar / n
        return [diff.map { d in (d > delta ? delta : (d < -delta ? -delta : d)) * s }]
    }
}

/// Binary cross-entropy on logits, averaged: max(z,0) − z·y + log(1 + e^{−|z|}) (stable form).
public func binaryCrossEntropyWithLogits(logits: Variable, targets: Tensor) -> Variable {
    precondition(logits.shape == targets.shape, "binaryCrossEntropyWithLogits: \(logits.shape) vs \(targets.shape)")
    let z = logits.value
    let n = Float(Swift.max(z.count, 1))
    var total: Double = 0
    z.withUnsafeBufferPointer { zp in targets.withUnsafeBufferPointer { yp in
        for i in 0..<zp.count {
            let zi = zp[i]
            total += Double(Swift.max(zi, 0) - zi * yp[i] + log1pf(expf(-Swift.abs(zi))))
        }
    } }
    return Variable(Tensor(Float(total / Double(n))), inputs: [logits]) { g in
        let s = g.scalar / n
        return [z.zipMap(targets) { zi, yi in (Activation.sigmoid(zi) - yi) * s }]
    }
}

/// Softmax cross-entropy of logits [n, classes] against integer labels, averaged over rows
/// (PyTorch's F.cross_entropy). Labels must lie in 0..<classes.
public func crossEntropy(logits: Variable, labels: [Int]) -> Variable {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                 "crossEntropy: logits \(logits.shape) vs \(labels.count) labels")
    let rows = logits.shape[0], k = logits.shape[1]
    let logProbs = logits.value.logSoftmax(axis: 1)
    var total: Double = 0
    logProbs.withUnsafeBufferPointer { lp in
        for r in 0..<rows {
            precondition(labels[r] >= 0 && labels[r] < k, "crossEntropy: label \(labels[r]) outside 0..<\(k)")
            total -= Double(lp[r * k + labels[r]])
        }
    }
    let n = Float(Swift.max(rows, 1))
    return Variable(Tensor(Float(total / Double(n))), inputs: [logits]) { g in
        let s = g.scalar / n
        var grad = logProbs.map { expf($0) * s }
        grad.withUnsafeMutableBufferPointer { gp in
            for r in 0..<rows { gp[r * k + labels[r]] -= s }
        }
        return [grad]
    }
}
