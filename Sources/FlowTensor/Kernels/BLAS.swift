import CBLAS
import CFlowSupport

/// Thin, shape-checked wrappers over OpenBLAS.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C for row-major matrices given by pointers.
    /// op(A) is [m, k], op(B) is [k, n], C is [m, n].
    @inline(__always)
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i &* ldc).initialize(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i &* ldc &+ j] *= beta } } }
            return
        }
        // Small products (MLP layers up to ~256 wide at small batch): a register-blocked AVX2 kernel that
        // skips OpenBLAS's packing, beta pass and thread dispatch (1.1–4× faster up to m·n·k ≈ 4M on Zen 3,
        // measured against OpenBLAS 0.3.21 with 1 and 2 threads; see Sources/CFlowSupport/SmallGemm.c).
        if Double(m) * Double(n) * Double(k) <= 4_194_304 {
            cflow_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Sets the BLAS thread count (process-wide).
    public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    /// The BLAS thread count.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
    /// The same name as a static C string owned by OpenBLAS.
    public static var coreNameCString: UnsafePointer<CChar> {
        if let p = openblas_get_corename() { return UnsafePointer(p) }
        return UnsafeRawPointer(("unknown" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
    }
    /// OpenBLAS's name for the kernel set it picked for this CPU.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
}

extension Tensor {
    /// Matrix product of 2-D tensors: op(self) [m, k] · op(other) [k, n] → [m, n].
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul expects 2-D tensors, got \(shape) and \(other.shape)")
        let m = transposeSelf ? shape[1] : shape[0]
        let k = transposeSelf ? shape[0] : shape[1]
        let k2 = transposeOther ? other.shape[1] : other.shape[0]
        let n = transposeOther ? other.shape[0] : other.shape[1]
        precondition(k == k2, "matmul inner dimensions differ: \(shape)\(transposeSelf ? "ᵀ" : "") · \(other.shape)\(transposeOther ? "ᵀ" : "")")
        let out = Tensor(uninitialized: [m, n])
        BLAS.gemm(transposeA: transposeSelf, transposeB: transposeOther, m: m, n: n, k: k,
                  a: storage.pointer, lda: shape[1], b: other.storage.pointer, ldb: other.shape[1],
                  c: out.storage.pointer, ldc: n)
        return out
    }

    /// Batched matrix product of 3-D tensors [b, m, k] · [b, k, n] → [b, m, n] (with optional
    /// transposes of the last two axes).
    public func batchedMatmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        precondition(rank == 3 && other.rank == 3 && shape[0] == other.shape[0],
                     "batchedMatmul expects [b, m, k] and [b, k, n], got \(shape) and \(other.shape)")
        let batch = shape[0]
        let m = transposeSelf ? shape[2] : shape[1]
        let k = transposeSelf ? shape[1] : shape[2]
        let k2 = transposeOther ? other.shape[2] : other.shape[1]
        let n = transposeOther ? other.shape[1] : other.shape[2]
        precondition(k == k2, "batchedMatmul inner dimensions differ: \(shape) · \(other.shape)")
        let out = Tensor(uninitialized: [batch, m, n])
        let aStride = shape[1] * shape[2], bStride = other.shape[1] * other.shape[2]
        for i in 0..<batch {
            BLAS.gemm(transposeA: transposeSelf, transposeB: transposeOther, m: m, n: n, k: k,
                      a: storage.pointer + i * aStride, lda: shape[2],
                      b: other.storage.pointer + i * bStride, ldb: other.shape[2],
                      c: out.storage.pointer + i * m * n, ldc: n)
        }
        return out
    }
}
