import XCTest
import FlowGen
import _FlowGenTestSupport

/// SpMM, message passing, graph construction and the GCN normalisation.
final class SparseAndGraphTests: XCTestCase {
    /// A non-symmetric 3×4 matrix with a duplicate entry (summed) and an empty row.
    func sampleMatrix() -> CSRMatrix {
        CSRMatrix(rowCount: 3, columnCount: 4, rows: [0, 0, 2, 2, 0], columns: [1, 3, 0, 2, 1],
                  values: [0.5, -1.5, 2, 0.25, 1])
    }

    func testCSRFromCoordinatesSumsDuplicatesAndSortsRows() {
        let m = sampleMatrix()
        XCTAssertEqual(m.rowPointers, [0, 2, 2, 4])
        XCTAssertEqual(m.columnIndices, [1, 3, 0, 2])
        XCTAssertEqual(m.values, [1.5, -1.5, 2, 0.25])
        assertClose(m.transposed.dense(), m.dense().transposed().scalars)
    }

    func testSpMMForwardMatchesDenseProduct() {
        let m = sampleMatrix()
        let x = testTensor([4, 5], seed: 1)
        assertClose(m.multiply(x), m.dense().matmul(x).scalars, tol: 1e-5)
    }

    func testSpMMGradientNonSymmetric() {
        let m = sampleMatrix()
        assertGradientsMatchFiniteDifferences([testTensor([4, 3], seed: 2)]) { v in spmm(m, v[0]) }
    }

    func testSpMMGradientSymmetricGCNOperator() throws {
        let g = try Graph(nodeCount: 5, edges: [(0, 1), (1, 2), (2, 3), (1, 4)])
        let a = g.gcnNormalizedAdjacency()
        XCTAssertTrue(a.isSymmetric)
        assertClose(a.dense(), a.dense().transposed().scalars, tol: 1e-7)
        assertGradientsMatchFiniteDifferences([testTensor([5, 2], seed: 3)]) { v in spmm(a, v[0]) }
    }

    func testPropagateGenericPathEqualsFusedPathAndHasGradients() throws {
        let g = try Graph(nodeCount: 4, edges: [(0, 1), (1, 2), (2, 3), (0, 2)])
        let x = testTensor([4, 3], seed: 4)
        let fused = propagate(Variable(x), over: g.adjacency, aggregation: .mean).value
        let generic = propagate(Variable(x), over: g.adjacency, aggregation: .mean) { _, xJ, w in xJ * w }.value
        assertClose(generic, fused.scalars, tol: 1e-6)
        // max aggregation by hand for node 0 (neighbours 1 and 2).
        let mx = propagate(Variable(x), over: g.adjacency, aggregation: .max).value.scalars
        let xs = x.scalars
        for k in 0..<3 { XCTAssertEqual(mx[k], Swift.max(xs[3 + k], xs[6 + k])) }
        assertGradientsMatchFiniteDifferences([x]) { v in
            propagate(v[0], over: g.adjacency, aggregation: .sum) { xI, xJ, _ in (xI * xJ).tanh() }
        }
    }

    func testGCNNormalisationByHandOnAPath() throws {
        // Path 0 – 1 – 2: degrees with self loops d̃ = [2, 3, 2].
        let a = try Graph(nodeCount: 3, edges: [(0, 1), (1, 2)]).gcnNormalizedAdjacency().dense().scalars
        let s6 = 1 / Float(6).squareRoot()
        assertClose(a, [0.5, s6, 0, s6, 1.0 / 3, s6, 0, s6, 0.5], tol: 1e-6)
    }

    func testSelfLoopsDuplicatesAndOutOfRangeIds() throws {
        let g = try Graph(nodeCount: 3, edges: [(0, 1), (1, 0), (1, 1), (2, 1), (1, 2)])
        XCTAssertEqual(g.edgeCount, 2)
        XCTAssertEqual(g.edgeSources, [0, 1]); XCTAssertEqual(g.edgeTargets, [1, 2])
        XCTAssertEqual(g.droppedSelfLoops, 1); XCTAssertEqual(g.droppedDuplicates, 2)
        XCTAssertEqual(g.degrees, [1, 2, 1])
        XCTAssertTrue(g.hasEdge(2, 1)); XCTAssertFalse(g.hasEdge(0, 2))
        XCTAssertThrowsError(try Graph(nodeCount: 3, edges: [(0, 1), (2, 3)])) { error in
            guard case GraphError.outOfRange(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("edge 1"), m)
        }
        XCTAssertThrowsError(try Graph(nodeCount: 3, edges: [(-1, 1)]))
    }

    func testGCNLayerGradients() throws {
        let g = try Graph(nodeCount: 4, edges: [(0, 1), (1, 2), (2, 3)])
        var rng = RandomGenerator(seed: 5)
        let x = Variable(testTensor([4, 3], seed: 6))
        let gcn = GCNConv(3, 2, rng: &rng), sage = SAGEConv(3, 2, rng: &rng), gin = GINConv(3, 2, rng: &rng)
        let op = g.gcnNormalizedAdjacency(), mean = g.meanAdjacency()
        assertParameterGradientsMatchFiniteDifferences(gcn.parameters) { gcn(.dense(x), operator: op) }
        assertParameterGradientsMatchFiniteDifferences(sage.parameters) { sage(.dense(x), operator: mean) }
        assertParameterGradientsMatchFiniteDifferences(gin.parameters) { gin(.dense(x), operator: g.adjacency) }
        // The sparse-input path equals the dense one.
        let sparse = denseToCSR(x.value)
        assertClose(gcn(.sparse(sparse), operator: op).value, gcn(.dense(x), operator: op).value.scalars, tol: 1e-5)
    }
}
