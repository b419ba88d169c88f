import XCTest
import FlowGen

/// Guards the shapes FlowGraph's models send to `BLAS.gemm` (e.g. the NCN output layer, n = 1): results
/// equal a naive product and nothing is written outside C.
final class GemmGuardTests: XCTestCase {
    func testGemmShapesUsedByLinkPredictionStayInBounds() {
        var rng = RandomGenerator(seed: 9)
        for (m, n, k, ta, tb) in [(2304, 1, 256, false, true), (1055, 1, 256, false, true), (1, 256, 2304, true, false),
                                  (2304, 256, 1, false, false), (256, 1, 2304, true, false), (7, 3, 5, false, true)] {
            let a = rng.uniform([ta ? k * m : m * k]).scalars
            let b = rng.uniform([tb ? n * k : k * n]).scalars
            let guardCount = 64
            var c = [Float](repeating: 12345, count: m * n + 2 * guardCount)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                BLAS.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: ap.baseAddress!, lda: ta ? m : k,
                          b: bp.baseAddress!, ldb: tb ? k : n, c: cp.baseAddress! + guardCount, ldc: n)
            } } }
            for g in 0..<guardCount {
                XCTAssertEqual(c[g], 12345, "write before C for \((m, n, k, ta, tb))")
                XCTAssertEqual(c[guardCount + m * n + g], 12345, "write after C for \((m, n, k, ta, tb))")
            }
            for i in stride(from: 0, to: m, by: max(1, m / 7)) {
                for j in stride(from: 0, to: n, by: max(1, n / 5)) {
                    var s: Float = 0
                    for p in 0..<k { s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]) }
                    XCTAssertEqual(c[guardCount + i * n + j], s, accuracy: 1e-3 * max(1, abs(s)), "\((m, n, k, ta, tb))")
                }
            }
        }
    }
}
