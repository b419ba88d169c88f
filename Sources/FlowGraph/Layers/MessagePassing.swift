import FlowTensor
import FlowAutodiff

/// How messages arriving at a node are combined.
public enum Aggregation: String, Sendable, CaseIterable {
    case sum, mean, max
}

/// The one message-passing driver (PyG's `propagate`): for every stored entry (i ← j, weight w) of the
/// operator `adjacency` (row i = receiving node, column j = sending node) it gathers `x_i` and `x_j`,
/// computes `message(x_i, x_j, w)` and reduces the messages per receiving node with `aggregation`:
///
///     x'_i = ⊕_{j ∈ N(i)} φ(x_i, x_j, w_ij)
///
/// With no `message` (φ = w_ij·x_j) and `.sum`/`.mean` it takes the fused SpMM fast path. Gradients flow
/// through the engine's `indexSelect` and `segmentSum/Mean/Max` ops.
///
/// - Parameters:
///   - x: node states [n, d].
///   - adjacency: [n, n] operator (rows receive).
///   - message: φ(x_i [E, d], x_j [E, d], w [E, 1]) → [E, d'], or nil for weighted copy of x_j.
public func propagate(_ x: Variable, over adjacency: CSRMatrix, aggregation: Aggregation = .sum,
                      message: ((_ xI: Variable, _ xJ: Variable, _ weight: Variable) -> Variable)? = nil) -> Variable {
    if message == nil {
        switch aggregation {
        case .sum: return spmm(adjacency, x)
        case .mean: return spmm(adjacency.rowNormalized(), x)
        case .max: break
        }
    }
    let receivers = adjacency.entryRows()
    let senders = adjacency.columnIndices
    let xJ = x.indexSelect(axis: 0, indices: senders)
    let weight = Variable(Tensor(shape: [senders.count, 1], scalars: adjacency.values))
    let messages = message.map { $0(x.indexSelect(axis: 0, indices: receivers), xJ, weight) } ?? (xJ * weight)
    switch aggregation {
    case .sum: return messages.segmentSum(segmentIDs: receivers, segmentCount: adjacency.rowCount)
    case .mean: return messages.segmentMean(segmentIDs: receivers, segmentCount: adjacency.rowCount)
    case .max: return messages.segmentMax(segmentIDs: receivers, segmentCount: adjacency.rowCount)
    }
}
