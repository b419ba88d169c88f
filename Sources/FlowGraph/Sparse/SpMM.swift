import FlowTensor
import FlowAutodiff

/// Sparse-dense matrix product as an autodiff op: A [n, m] (constant) · X [m, d] → [n, d].
///
/// Backward: ∂L/∂X = Aᵀ · G. For a symmetric A (e.g. the GCN operator D̃^{-1/2}(A+I)D̃^{-1/2}) this is
/// A · G; otherwise the cached CSR transpose is used.
public func spmm(_ a: CSRMatrix, _ x: Variable) -> Variable {
    Variable(a.multiply(x.value), inputs: [x]) { g in [a.transposed.multiply(g)] }
}
