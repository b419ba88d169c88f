import FlowTensor
import FlowAutodiff
#if canImport(Glibc)
import Glibc
#endif

// Edge-wise kernels over the stored entries of a CSR pattern (DGL's `sddmm`, `edge_softmax`, `u_mul_e_sum`).
// Entry k sits at (row i, column j): in message passing row i is the receiving node and column j the
// sending node of edge j → i. Per-edge values are [nnz, H] tensors in CSR entry order; `H` heads split a
// node state [·, H·d] into H consecutive slices of width d. All kernels walk raw buffers (no per-edge
// allocation); scatters into columns are sequential (deterministic).

/// How `sddmm` combines the two endpoint states of an entry.
public enum EdgeCombine: Sendable {
    /// out[k, h] = ⟨X[i, h-slice], Y[j, h-slice]⟩ — the sampled dense–dense product (X·Yᵀ at the pattern).
    case dot
    /// out[k, h] = X[i, h] + Y[j, h] — DGL's `u_add_v`, e.g. GAT's attention logits aᵀ[W h_i ‖ W h_j].
    case add
}

/// Raw views of a CSR pattern's index arrays.
@inline(__always)
func withPattern<R>(_ a: CSRMatrix, _ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>) -> R) -> R {
    a.rowPointers.withUnsafeBufferPointer { rp in a.columnIndices.withUnsafeBufferPointer { ci in body(rp, ci) } }
}

/// Tensor kernels behind the autodiff ops (exposed for tests and callers that need no gradient).
public enum EdgeKernels {
    /// out[k, h] = ⟨x[i, h], y[j, h]⟩ with x [rows, H·d], y [columns, H·d] → [nnz, H].
    public static func sddmmDot(_ a: CSRMatrix, _ x: Tensor, _ y: Tensor, heads: Int) -> Tensor {
        let width = x.shape[1], d = width / heads
        let out = Tensor(zeros: [a.nonZeroCount, heads])
        let xp = x.storage.pointer, yp = y.storage.pointer, op = out.storage.pointer
        withPattern(a) { rp, ci in
            for i in 0..<a.rowCount {
                let xi = xp + i &* width
                for k in rp[i]..<rp[i &+ 1] {
                    let yj = yp + ci[k] &* width
                    for h in 0..<heads {
                        var s: Float = 0
                        let base = h &* d
                        for c in 0..<d { s += xi[base &+ c] * yj[base &+ c] }
                        op[k &* heads &+ h] = s
                    }
                }
            }
        }
        return withExtendedLifetime((x, y)) { out }
    }

    /// out[k, h] = x[i, h] + y[j, h] with x [rows, H], y [columns, H] → [nnz, H].
    public static func sddmmAdd(_ a: CSRMatrix, _ x: Tensor, _ y: Tensor) -> Tensor {
        let heads = x.shape[1]
        let out = Tensor(zeros: [a.nonZeroCount, heads])
        let xp = x.storage.pointer, yp = y.storage.pointer, op = out.storage.pointer
        withPattern(a) { rp, ci in
            for i in 0..<a.rowCount {
                for k in rp[i]..<rp[i &+ 1] {
                    let j = ci[k]
                    for h in 0..<heads { op[k &* heads &+ h] = xp[i &* heads &+ h] + yp[j &* heads &+ h] }
                }
            }
        }
        return withExtendedLifetime((x, y)) { out }
    }

    /// Row sums of per-edge values: [nnz, H] → [rows, H] (`transposed` = false) or column sums → [columns, H].
    public static func edgeSum(_ a: CSRMatrix, _ e: Tensor, byColumn: Bool) -> Tensor {
        let heads = e.shape[1]
        let out = Tensor(zeros: [byColumn ? a.columnCount : a.rowCount, heads])
        let ep = e.storage.pointer, op = out.storage.pointer
        withPattern(a) { rp, ci in
            for i in 0..<a.rowCount {
                for k in rp[i]..<rp[i &+ 1] {
                    let o = op + (byColumn ? ci[k] : i) &* heads
                    for h in 0..<heads { o[h] += ep[k &* heads &+ h] }
                }
            }
        }
        return withExtendedLifetime(e) { out }
    }

    /// Softmax of per-edge scores [nnz, H] over the entries of each row (a receiver's incoming edges), per head.
    public static func edgeSoftmax(_ a: CSRMatrix, _ scores: Tensor) -> Tensor {
        let heads = scores.shape[1]
        let out = Tensor(zeros: scores.shape)
        let sp = scores.storage.pointer, op = out.storage.pointer
        withPattern(a) { rp, _ in
            for i in 0..<a.rowCount {
                let lo = rp[i], hi = rp[i &+ 1]
                if lo == hi { continue }
                for h in 0..<heads {
                    var m = -Float.infinity
                    for k in lo..<hi { m = Swift.max(m, sp[k &* heads &+ h]) }
                    var total: Float = 0
                    for k in lo..<hi {
                        let v = expf(sp[k &* heads &+ h] - m)
                        op[k &* heads &+ h] = v; total += v
                    }
                    let inv = 1 / total
                    for k in lo..<hi { op[k &* heads &+ h] *= inv }
                }
            }
        }
        return withExtendedLifetime(scores) { out }
    }

    /// Backward of `edgeSoftmax`: g_in[k] = α_k (g_k − Σ_{k' in row} α_k' g_k'), per head.
    public static func edgeSoftmaxBackward(_ a: CSRMatrix, _ alpha: Tensor, _ g: Tensor) -> Tensor {
        let heads = alpha.shape[1]
        let out = Tensor(zeros: alpha.shape)
        let ap = alpha.storage.pointer, gp = g.storage.pointer, op = out.storage.pointer
        withPattern(a) { rp, _ in
            for i in 0..<a.rowCount {
                let lo = rp[i], hi = rp[i &+ 1]
                for h in 0..<heads {
                    var dot: Float = 0
                    for k in lo..<hi { dot += ap[k &* heads &+ h] * gp[k &* heads &+ h] }
                    for k in lo..<hi { op[k &* heads &+ h] = ap[k &* heads &+ h] * (gp[k &* heads &+ h] - dot) }
                }
            }
        }
        return withExtendedLifetime((alpha, g)) { out }
    }

    /// out[i, h-slice] = Σ_{k in row i} w[k, h] · x[j, h-slice]: weights [nnz, H], x [columns, H·d] → [rows, H·d].
    /// With `transposed`, the roles flip: out[j, h-slice] = Σ_{k in column j} w[k, h] · x[i, h-slice] with
    /// x [rows, H·d] → [columns, H·d].
    public static func weightedSpMM(_ a: CSRMatrix, _ w: Tensor, _ x: Tensor, transposed: Bool = false) -> Tensor {
        let heads = w.shape[1], width = x.shape[1], d = width / heads
        let out = Tensor(zeros: [transposed ? a.columnCount : a.rowCount, width])
        let wp = w.storage.pointer, xp = x.storage.pointer, op = out.storage.pointer
        withPattern(a) { rp, ci in
            for i in 0..<a.rowCount {
                for k in rp[i]..<rp[i &+ 1] {
                    let j = ci[k]
                    let src = xp + (transposed ? i : j) &* width
                    let dst = op + (transposed ? j : i) &* width
                    if heads == 1 {
                        CSRMatrix.axpy(rp: wp[k], x: src, y: dst, count: width)
                    } else {
                        for h in 0..<heads {
                            CSRMatrix.axpy(rp: wp[k &* heads &+ h], x: src + h &* d, y: dst + h &* d, count: d)
                        }
                    }
                }
            }
        }
        return withExtendedLifetime((w, x)) { out }
    }
}

/// Sampled dense–dense matrix product over the stored entries of `pattern` [rows, columns] (the pattern's
/// values are not used), as an autodiff op.
///
/// - `.dot`: x [rows, H·d], y [columns, H·d] → [nnz, H], out[k, h] = ⟨x[i, h-slice], y[j, h-slice]⟩
///   (H = `heads`, default 1: the plain SDDMM (X·Yᵀ) ∘ pattern). Backward: ∂x = W_g·y and ∂y = W_gᵀ·x with
///   W_g the pattern carrying the gradient as values (weighted SpMMs).
/// - `.add`: x [rows, H], y [columns, H] → [nnz, H], out[k, h] = x[i, h] + y[j, h]. Backward: row and column
///   sums of the gradient.
public func sddmm(_ pattern: CSRMatrix, _ x: Variable, _ y: Variable, combine: EdgeCombine = .dot, heads: Int = 1) -> Variable {
    precondition(x.rank == 2 && y.rank == 2 && x.shape[0] == pattern.rowCount && y.shape[0] == pattern.columnCount
                 && x.shape[1] == y.shape[1], "sddmm: x \(x.shape), y \(y.shape) for a [\(pattern.rowCount), \(pattern.columnCount)] pattern")
    switch combine {
    case .dot:
        precondition(heads >= 1 && x.shape[1] % heads == 0, "sddmm: width \(x.shape[1]) is not a multiple of \(heads) heads")
        return Variable(EdgeKernels.sddmmDot(pattern, x.value, y.value, heads: heads), inputs: [x, y]) { g in
            [x.requiresGrad ? EdgeKernels.weightedSpMM(pattern, g, y.value) : nil,
             y.requiresGrad ? EdgeKernels.weightedSpMM(pattern, g, x.value, transposed: true) : nil]
        }
    case .add:
        return Variable(EdgeKernels.sddmmAdd(pattern, x.value, y.value), inputs: [x, y]) { g in
            [x.requiresGrad ? EdgeKernels.edgeSum(pattern, g, byColumn: false) : nil,
             y.requiresGrad ? EdgeKernels.edgeSum(pattern, g, byColumn: true) : nil]
        }
    }
}

/// Softmax of per-edge scores [nnz, H] over each row's entries (each receiving node's incoming edges), per
/// head (DGL's `edge_softmax`, PyG's `softmax(src, index)`). Rows without entries contribute nothing.
/// Backward: g_in = α ⊙ (g − Σ_row α ⊙ g).
public func edgeSoftmax(_ pattern: CSRMatrix, _ scores: Variable) -> Variable {
    precondition(scores.rank == 2 && scores.shape[0] == pattern.nonZeroCount,
                 "edgeSoftmax: scores \(scores.shape) for \(pattern.nonZeroCount) entries")
    let alpha = EdgeKernels.edgeSoftmax(pattern, scores.value)
    return Variable(alpha, inputs: [scores]) { g in [EdgeKernels.edgeSoftmaxBackward(pattern, alpha, g)] }
}

/// SpMM with differentiable per-edge weights (DGL's `u_mul_e_sum`): out[i, h-slice] = Σ_{k in row i}
/// w[k, h] · x[j, h-slice], weights [nnz, H], x [columns, H·d] → [rows, H·d].
/// Backward: ∂w = SDDMM(∂out, x) per head, ∂x = the transposed weighted SpMM of ∂out.
public func spmm(_ pattern: CSRMatrix, edgeWeights w: Variable, _ x: Variable) -> Variable {
    let heads = w.shape.count == 2 ? w.shape[1] : 0
    precondition(w.rank == 2 && w.shape[0] == pattern.nonZeroCount && x.rank == 2 && x.shape[0] == pattern.columnCount
                 && heads >= 1 && x.shape[1] % heads == 0,
                 "spmm(edgeWeights:): weights \(w.shape), x \(x.shape) for a [\(pattern.rowCount), \(pattern.columnCount)] pattern with \(pattern.nonZeroCount) entries")
    return Variable(EdgeKernels.weightedSpMM(pattern, w.value, x.value), inputs: [w, x]) { g in
        [w.requiresGrad ? EdgeKernels.sddmmDot(pattern, g, x.value, heads: heads) : nil,
         x.requiresGrad ? EdgeKernels.weightedSpMM(pattern, w.value, g, transposed: true) : nil]
    }
}
