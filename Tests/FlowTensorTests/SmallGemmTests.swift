import XCTest
import FlowGen

/// Matrix products (the small-matrix kernel and the OpenBLAS path behind `BLAS.gemm`) against a naive
/// triple loop in Double, for edge sizes, all four transpose combinations, strided operands, alpha and beta.
final class SmallGemmTests: XCTestCase {
    /// Deterministic values in [-1, 1).
    struct LCG {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % (1 << 24)) / Float(1 << 23) - 1
        }
        mutating func int(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
    }

    /// op(A)[i, p] · op(B)[p, j] summed in Double, then alpha·sum + beta·C.
    static func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                          a: [Float], lda: Int, b: [Float], ldb: Int, beta: Double, c: [Float], ldc: Int) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = Double(transA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                    s += x * y
                }
                out[i * n + j] = alpha * s + (beta == 0 ? 0 : beta * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    /// |actual − expected| ≤ 1e-5·(k + 1)·max(1, |expected|) for every element.
    func assertMatches(_ actual: [Float], ldc: Int, _ expected: [Double], m: Int, n: Int, k: Int,
                       _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        var bad = 0
        var first = ""
        for i in 0..<m {
            for j in 0..<n {
                let e = expected[i * n + j], x = Double(actual[i * ldc + j])
                if !(abs(x - e) <= 1e-5 * Double(k + 1) * max(1, abs(e))) {
                    if bad == 0 { first = "(\(i), \(j)): \(x) vs \(e)" }
                    bad += 1
                }
            }
        }
        XCTAssertEqual(bad, 0, "\(label): \(bad) wrong elements, first \(first)", file: file, line: line)
    }

    /// Tensor.matmul for every transpose combination over edge sizes (1, odd, tile boundaries ± 1).
    func testMatmulEdgeSizesAllTransposes() {
        let sizes = [1, 2, 3, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33]
        var rng = LCG(state: 7)
        for transA in [false, true] {
            for transB in [false, true] {
                for m in sizes {
                    for n in sizes {
                        let k = sizes[rng.int(sizes.count)]
                        checkMatmul(transA: transA, transB: transB, m: m, n: n, k: k, rng: &rng)
                    }
                }
            }
        }
    }

    /// The MLP shapes the kernel was written for, plus random shapes across the dispatch boundary.
    func testMatmulTrainingShapesAndRandomShapes() {
        var rng = LCG(state: 11)
        let shapes: [(Bool, Bool, Int, Int, Int)] = [
            (false, true, 16, 256, 32), (false, true, 16, 256, 256), (false, true, 16, 9, 256),
            (false, false, 16, 256, 256), (false, false, 16, 256, 9), (true, false, 256, 256, 16),
            (true, false, 9, 256, 16), (false, true, 256, 64, 2), (false, true, 256, 2, 64),
            (false, false, 256, 64, 2), (true, false, 64, 2, 256), (true, false, 2, 64, 256),
            (false, false, 1, 1, 1), (true, true, 1, 300, 1), (false, false, 40, 3, 600),
            (true, true, 130, 70, 300), (true, false, 300, 130, 120),  // the last one is above the dispatch threshold
        ]
        for (ta, tb, m, n, k) in shapes { checkMatmul(transA: ta, transB: tb, m: m, n: n, k: k, rng: &rng) }
        for _ in 0..<30 {
            let m = 1 + rng.int(150), n = 1 + rng.int(150), k = 1 + rng.int(260)
            checkMatmul(transA: rng.int(2) == 1, transB: rng.int(2) == 1, m: m, n: n, k: k, rng: &rng)
        }
    }

    func checkMatmul(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, rng: inout LCG,
                     file: StaticString = #filePath, line: UInt = #line) {
        let aShape = transA ? [k, m] : [m, k], bShape = transB ? [n, k] : [k, n]
        let a = rng.array(m * k), b = rng.array(k * n)
        let product = Tensor(shape: aShape, scalars: a)
            .matmul(Tensor(shape: bShape, scalars: b), transposeSelf: transA, transposeOther: transB)
        XCTAssertEqual(product.shape, [m, n], file: file, line: line)
        let expected = Self.reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                      a: a, lda: aShape[1], b: b, ldb: bShape[1], beta: 0, c: [], ldc: n)
        assertMatches(product.scalars, ldc: n, expected, m: m, n: n, k: k,
                      "matmul tA=\(transA) tB=\(transB) m=\(m) n=\(n) k=\(k)", file: file, line: line)
    }

    /// BLAS.gemm with padded leading dimensions, alpha ≠ 1 and beta ∈ {0 (old C is NaN), 1, 0.7}; the
    /// padding columns of C are never written.
    func testGemmStridesAlphaBeta() {
        var rng = LCG(state: 3)
        let sizes = [1, 2, 7, 9, 16, 17, 33, 64]
        for transA in [false, true] {
            for transB in [false, true] {
                for (index, beta) in [Float(0), 1, 0.7].enumerated() {
                    for _ in 0..<12 {
                        let m = sizes[rng.int(sizes.count)], n = sizes[rng.int(sizes.count)]
                        let k = [1, 2, 5, 16, 31, 257, 300][rng.int(7)]
                        let alpha: Float = index == 1 ? 1 : -0.5
                        checkGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                  rng: &rng)
                    }
                }
                checkGemm(transA: transA, transB: transB, m: 16, n: 256, k: 256, alpha: 1, beta: 1, rng: &rng)
                checkGemm(transA: transA, transB: transB, m: 300, n: 20, k: 40, alpha: 2, beta: 0, rng: &rng)
            }
        }
    }

    func checkGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float, rng: inout LCG,
                   file: StaticString = #filePath, line: UInt = #line) {
        let lda = (transA ? m : k) + rng.int(3), ldb = (transB ? k : n) + rng.int(3), ldc = n + 1 + rng.int(3)
        let a = rng.array((transA ? k : m) * lda), b = rng.array((transB ? n : k) * ldb)
        var c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : rng.array(m * ldc)
        let before = c
        let expected = Self.reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: Double(alpha),
                                      a: a, lda: lda, b: b, ldb: ldb, beta: Double(beta), c: c, ldc: ldc)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemm(transposeA: transA, transposeB: transB, m: m, n: n, k: k, alpha: alpha,
                              a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                              beta: beta, c: cp.baseAddress!, ldc: ldc)
                }
            }
        }
        let label = "gemm tA=\(transA) tB=\(transB) m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta)"
        assertMatches(c, ldc: ldc, expected, m: m, n: n, k: k, label, file: file, line: line)
        var padding = 0
        for i in 0..<m { for j in n..<ldc where c[i * ldc + j].bitPattern != before[i * ldc + j].bitPattern { padding += 1 } }
        XCTAssertEqual(padding, 0, "\(label): wrote \(padding) padding elements", file: file, line: line)
    }

    /// k == 0 scales C by beta (beta == 0 clears NaN); alpha == 0 likewise ignores A and B.
    func testGemmDegenerate() {
        var c: [Float] = [.nan, .nan, .nan, .nan]
        let a: [Float] = [.nan, .nan], b: [Float] = [.nan, .nan]
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 0, a: ap.baseAddress!, lda: 1,
                              b: bp.baseAddress!, ldb: 2, beta: 0, c: cp.baseAddress!, ldc: 2)
                }
            }
        }
        XCTAssertEqual(c, [0, 0, 0, 0])
        c = [1, 2, 3, 4]
        let a2: [Float] = [1, 2], b2: [Float] = [3, 4]
        a2.withUnsafeBufferPointer { ap in
            b2.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 1, alpha: 0, a: ap.baseAddress!,
                              lda: 1, b: bp.baseAddress!, ldb: 2, beta: 2, c: cp.baseAddress!, ldc: 2)
                }
            }
        }
        XCTAssertEqual(c, [2, 4, 6, 8])
    }
}
