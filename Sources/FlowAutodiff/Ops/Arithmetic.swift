import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

// Broadcasting arithmetic. Backward: the upstream gradient times the local derivative, summed back to
// each input's shape (the adjoint of broadcasting).

public func + (a: Variable, b: Variable) -> Variable {
    Variable(a.value + b.value, inputs: [a, b]) { g in
        [g.sumToShape(a.shape), g.sumToShape(b.shape)]
    }
}

public func - (a: Variable, b: Variable) -> Variable {
    Variable(a.value - b.value, inputs: [a, b]) { g in
        [g.sumToShape(a.shape), (-g).sumToShape(b.shape)]
    }
}

public func * (a: Variable, b: Variable) -> Variable {
    Variable(a.value * b.value, inputs: [a, b]) { g in
        [a.requiresGrad ? (g * b.value).sumToShape(a.shape) : nil,
         b.requiresGrad ? (g * a.value).sumToShape(b.shape) : nil]
    }
}

public func / (a: Variable, b: Variable) -> Variable {
    Variable(a.value / b.value, inputs: [a, b]) { g in
        [a.requiresGrad ? (g / b.value).sumToShape(a.shape) : nil,
         b.requiresGrad ? (g * a.value / (b.value * b.value)).map { -$0 }.sumToShape(b.shape) : nil]
    }
}

public prefix func - (a: Variable) -> Variable {
    Variable(-a.value, inputs: [a]) { g in [-g] }
}

public func + (a: Variable, s: Float) -> Variable { Variable(a.value + s, inputs: [a]) { g in [g] } }
public func + (s: Float, a: Variable) -> Variable { a + s }
public func - (a: Variable, s: Float) -> Variable { a + (-s) }
public func - (s: Float, a: Variable) -> Variable { Variable(a.value.map { s - $0 }, inputs: [a]) { g in [-g] } }
public func * (a: Variable, s: Float) -> Variable { Variable(a.value * s, inputs: [a]) { g in [g * s] } }
public func * (s: Float, a: Variable) -> Variable { a * s }
public func / (a: Variable, s: Float) -> Variable { a * (1 / s) }

extension Variable {
    /// Element-wise power with a constant exponent: x^p (for non-integer p, x must be positive).
    public func pow(_ exponent: Float) -> Variable {
        let x = value
        return Variable(x.map { powf($0, exponent) }, inputs: [self]) { g in
            [g.zipMap(x) { gi, xi in gi * exponent * powf(xi, exponent - 1) }]
        }
    }

    /// Matrix product of 2-D values: self [m, k] · other [k, n] (with optional transposes).
    public func matmul(_ other: Variable, transposeSelf: Bool = false, transposeOther: Bool = false) -> Variable {
        let a = value, b = other.value
        let out = a.matmul(b, transposeSelf: transposeSelf, transposeOther: transposeOther)
        return Variable(out, inputs: [self, other]) { g in
            // C = op(A) op(B):  dop(A) = G op(B)ᵀ,  dop(B) = op(A)ᵀ G
            let ga: Tensor? = self.requiresGrad
                ? (transposeSelf ? b.matmul(g, transposeSelf: transposeOther, transposeOther: true)
                                 : g.matmul(b, transposeOther: !transposeOther))
                : nil
            let gb: Tensor? = other.requiresGrad
                ? (transposeOther ? g.matmul(a, transposeSelf: true, transposeOther: transposeSelf)
                                  : a.matmul(g, transposeSelf: !transposeSelf))
                : nil
            return [ga, gb]
        }
    }

    /// Batched matrix product of 3-D values [b, m, k] · [b, k, n] → [b, m, n].
    public func batchedMatmul(_ other: Variable) -> Variable {
        let a = value, b = other.value
        return Variable(a.batchedMatmul(b), inputs: [self, other]) { g in
            [self.requiresGrad ? g.batchedMatmul(b, transposeOther: true) : nil,
             other.requiresGrad ? a.batchedMatmul(g, transposeSelf: true) : nil]
        }
    }
}

/// Affine map y = x Wᵀ + b for x [n, in], weight [out, in], bias [out] (PyTorch's nn.Linear layout),
/// fused into one BLAS call (the bias is written first and accumulated with beta = 1).
public func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
    let xv = x.value, w = weight.value
    precondition(xv.rank == 2 && w.rank == 2 && xv.shape[1] == w.shape[1],
                 "linear: input \(xv.shape) does not match weight \(w.shape)")
    let n = xv.shape[0], inDim = w.shape[1], outDim = w.shape[0]
    let out = Tensor(uninitialized: [n, outDim])
    let dst = out.storage.pointer
    if let bias {
        precondition(bias.value.count == outDim, "linear: bias \(bias.shape) does not match weight \(w.shape)")
        let bp = bias.value.storage.pointer
        for r in 0..<n { (dst + r &* outDim).update(from: bp, count: outDim) }
    }
    BLAS.gemm(transposeA: false, transposeB: true, m: n, n: outDim, k: inDim,
              a: xv.storage.pointer, lda: inDim, b: w.storage.pointer, ldb: inDim,
              beta: bias == nil ? 0 : 1, c: dst, ldc: outDim)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(out, inputs: inputs) { g in
        var grads: [Tensor?] = [
            x.requiresGrad ? g.matmul(w) : nil,                      // [n,out]·[out,in]
            weight.requiresGrad ? g.matmul(xv, transposeSelf: true) : nil,  // [out,n]·[n,in]
        ]
        if let bias { grads.append(bias.requiresGrad ? g.sumToShape(bias.shape) : nil) }
        return grads
    }
}
