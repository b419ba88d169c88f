import XCTest
import FlowGen
import _FlowGenTestSupport

/// Forward values of the FlowTensor kernels against hand computations (and, for the larger cases, a
/// naive independent loop).
final class KernelTests: XCTestCase {
    let a34 = Tensor(shape: [3, 4], scalars: (0..<12).map(Float.init))
    let b234 = Tensor(shape: [2, 3, 4], scalars: (1...24).map(Float.init))

    // MARK: broadcasting

    func testBroadcastArithmetic() {
        let r1 = a34 + Tensor(shape: [4], scalars: [1, 2, 3, 4])
        XCTAssertEqual(r1.shape, [3, 4])
        assertClose(r1, [1, 3, 5, 7, 5, 7, 9, 11, 9, 11, 13, 15])

        let outer = Tensor(shape: [3, 1], scalars: [1, 2, 3]) * Tensor(shape: [1, 4], scalars: [1, 2, 3, 4])
        XCTAssertEqual(outer.shape, [3, 4])
        assertClose(outer, [1, 2, 3, 4, 2, 4, 6, 8, 3, 6, 9, 12])

        let div = b234 / Tensor(shape: [3, 1], scalars: [1, 2, 4])
        XCTAssertEqual(div.shape, [2, 3, 4])
        assertClose(div, [1, 2, 3, 4, 2.5, 3, 3.5, 4, 2.25, 2.5, 2.75, 3,
                          13, 14, 15, 16, 8.5, 9, 9.5, 10, 5.25, 5.5, 5.75, 6])

        let minus = Tensor(10) - Tensor(shape: [2], scalars: [1, 4])
        XCTAssertEqual(minus.shape, [2])
        assertClose(minus, [9, 6])
        assertClose(Tensor(shape: [2], scalars: [1, 4]) * 3, [3, 12])
        assertClose(-Tensor(shape: [2], scalars: [1, -4]) + 1, [0, 5])
    }

    func testBroadcastWithOneElementOperandOfHigherRank() {
        // NumPy: [3] + [1, 1] → [1, 3].
        let r = Tensor(shape: [3], scalars: [1, 2, 3]) + Tensor(shape: [1, 1], scalars: [10])
        XCTAssertEqual(r.shape, [1, 3])
        assertClose(r, [11, 12, 13])
        let l = Tensor(shape: [1, 1, 1], scalars: [2]) * Tensor(shape: [2], scalars: [1, 2])
        XCTAssertEqual(l.shape, [1, 1, 2])
        assertClose(l, [2, 4])
    }

    func testSumToShapeIsTheAdjointOfBroadcasting() {
        assertClose(b234.sumToShape([3, 1]), [68, 100, 132])
        assertClose(b234.sumToShape([4]), [66, 72, 78, 84])
        XCTAssertEqual(b234.sumToShape([2, 1, 4]).shape, [2, 1, 4])
        assertClose(b234.sumToShape([2, 1, 4]), [15, 18, 21, 24, 51, 54, 57, 60])
        assertClose(b234.sumToShape([1, 1, 1]), [300])
        assertClose(b234.sumToShape([]), [300])
    }

    // MARK: reductions

    func testReductions() {
        assertClose(Tensor(a34.sum()), [66])
        let s0 = a34.sum(axis: 0)
        XCTAssertEqual(s0.shape, [4]); assertClose(s0, [12, 15, 18, 21])
        let s1 = a34.sum(axis: -1, keepDims: true)
        XCTAssertEqual(s1.shape, [3, 1]); assertClose(s1, [6, 22, 38])
        assertClose(b234.sum(axis: 1), [15, 18, 21, 24, 51, 54, 57, 60])
        assertClose(a34.mean(axis: 1), [1.5, 5.5, 9.5])

        let t = Tensor(shape: [2, 4], scalars: [3, 7, 7, 1, -2, -5, -5, 0])
        let mx = t.extreme(axis: 1, largest: true)
        assertClose(mx.values, [7, 0]); XCTAssertEqual(mx.indices, [1, 3])
        let mn = t.extreme(axis: 1, largest: false)
        assertClose(mn.values, [1, -5]); XCTAssertEqual(mn.indices, [3, 1])   // first of the tied minima
        let mx0 = t.extreme(axis: 0, keepDims: true, largest: true)
        XCTAssertEqual(mx0.values.shape, [1, 4]); assertClose(mx0.values, [3, 7, 7, 1]); XCTAssertEqual(mx0.indices, [0, 0, 0, 0])
    }

    func testLogSumExpWithInfiniteRows() {
        let ninf = -Float.infinity
        let x = Tensor(shape: [3, 3], scalars: [0, 1, 2, ninf, ninf, ninf, ninf, 0, 0])
        let lse = x.logSumExp(axis: 1)
        assertClose(lse, [2.4076059644, ninf, 0.6931471806], tol: 1e-6)
        // Large values do not overflow (max-shifted).
        assertClose(Tensor(shape: [2], scalars: [1000, 1000]).logSumExp(axis: 0), [1000.6931471806], tol: 1e-6)
        let ls = Tensor(shape: [2, 3], scalars: [1, 2, 3, 0, 0, ninf]).logSoftmax(axis: 1)
        assertClose(ls, [-2.4076059644, -1.4076059644, -0.4076059644, -0.6931471806, -0.6931471806, ninf], tol: 1e-6)
        let sm = Tensor(shape: [2, 2], scalars: [0, 0, 1, 3]).softmax(axis: 0)
        assertClose(sm, [0.2689414214, 0.0474258732, 0.7310585786, 0.9525741268], tol: 1e-6)
    }

    // MARK: layout

    func testPermuteTransposeConcatStackSlice() {
        let p = b234.permuted([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3])
        assertClose(p, [1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23, 4, 8, 12, 16, 20, 24])
        let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]).transposed()
        XCTAssertEqual(t.shape, [3, 2]); assertClose(t, [1, 4, 2, 5, 3, 6])

        let x = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), y = Tensor(shape: [2, 1], scalars: [5, 6])
        let c1 = Tensor.concat([x, y], axis: 1)
        XCTAssertEqual(c1.shape, [2, 3]); assertClose(c1, [1, 2, 5, 3, 4, 6])
        let c0 = Tensor.concat([x, y.transposed()], axis: 0)
        XCTAssertEqual(c0.shape, [3, 2]); assertClose(c0, [1, 2, 3, 4, 5, 6])
        let s0 = Tensor.stack([x, x * 10], axis: 0)
        XCTAssertEqual(s0.shape, [2, 2, 2]); assertClose(s0, [1, 2, 3, 4, 10, 20, 30, 40])
        let s2 = Tensor.stack([x, x * 10], axis: -1)
        XCTAssertEqual(s2.shape, [2, 2, 2]); assertClose(s2, [1, 10, 2, 20, 3, 30, 4, 40])

        let sl = b234.slice(axis: 2, start: 1, end: 3)
        XCTAssertEqual(sl.shape, [2, 3, 2]); assertClose(sl, [2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23])
        let padded = Tensor(shape: [2, 1], scalars: [7, 8]).paddedSlice(axis: 1, start: 1, fullExtent: 3)
        assertClose(padded, [0, 7, 0, 0, 8, 0])
    }

    func testCumsum() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        assertClose(x.cumsum(axis: 0), [1, 2, 3, 5, 7, 9])
        assertClose(x.cumsum(axis: 1), [1, 3, 6, 4, 9, 15])
        assertClose(x.cumsum(axis: -1, reverse: true), [6, 5, 3, 15, 11, 6])
        assertClose(x.cumsum(axis: 0, reverse: true), [5, 7, 9, 4, 5, 6])
    }

    // MARK: matrix products

    private func naiveMatmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { c[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        return c
    }

    func testMatmulAllTransposes() {
        let a = testTensor([3, 4], seed: 1), b = testTensor([4, 5], seed: 2)
        let expected = naiveMatmul(a.scalars, b.scalars, m: 3, k: 4, n: 5)
        assertClose(a.matmul(b), expected, tol: 1e-5)
        assertClose(a.transposed().matmul(b, transposeSelf: true), expected, tol: 1e-5)
        assertClose(a.matmul(b.transposed(), transposeOther: true), expected, tol: 1e-5)
        let both = a.transposed().matmul(b.transposed(), transposeSelf: true, transposeOther: true)
        XCTAssertEqual(both.shape, [3, 5]); assertClose(both, expected, tol: 1e-5)
        assertClose(Tensor(shape: [1, 2], scalars: [1, 2]).matmul(Tensor(shape: [2, 1], scalars: [3, 4])), [11])

        let ba = testTensor([2, 3, 4], seed: 3), bb = testTensor([2, 4, 2], seed: 4)
        let bc = ba.batchedMatmul(bb)
        XCTAssertEqual(bc.shape, [2, 3, 2])
        for i in 0..<2 {
            let e = naiveMatmul(Array(ba.scalars[(i * 12)..<(i * 12 + 12)]), Array(bb.scalars[(i * 8)..<(i * 8 + 8)]), m: 3, k: 4, n: 2)
            assertClose(Array(bc.scalars[(i * 6)..<(i * 6 + 6)]), e, tol: 1e-5)
        }
    }

    // MARK: indexing

    func testGatherAndItsAdjoint() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let g1 = x.gather(axis: 1, indices: [2, 0, 1, 1], shape: [2, 2])
        XCTAssertEqual(g1.shape, [2, 2]); assertClose(g1, [3, 1, 5, 5])
        let g0 = x.gather(axis: 0, indices: [1, 0, 1], shape: [1, 3])
        XCTAssertEqual(g0.shape, [1, 3]); assertClose(g0, [4, 2, 6])
        let gd = x.gather(axis: -1, indices: [2, 0])        // default shape [2, 1]
        XCTAssertEqual(gd.shape, [2, 1]); assertClose(gd, [3, 4])
        XCTAssertEqual(Tensor(zeros: [2, 0]).gather(axis: 1, indices: []).shape, [2, 0])
        // Index shape smaller than the source on a non-gathered axis.
        let gs = b234.gather(axis: 1, indices: [2, 0, 1, 1], shape: [2, 1, 2])
        assertClose(gs, [9, 2, 17, 18])

        // scatterAdd is the adjoint: <gather(x), y> = <x, scatterAdd(y)>.
        let src = testTensor([3, 4, 2], seed: 9)
        let idx = [2, 0, 0, 1, 3, 3, 1, 2, 0, 0, 1, 2, 3, 1, 2, 0, 0, 0]
        let shape = [3, 3, 2]
        let y = testTensor(shape, seed: 10)
        let lhs = (src.gather(axis: 1, indices: idx, shape: shape) * y).sum()
        let rhs = (src * y.scatterAdd(axis: 1, indices: idx, into: [3, 4, 2])).sum()
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4)
        assertClose(Tensor(shape: [1, 3], scalars: [1, 2, 3]).scatterAdd(axis: 1, indices: [2, 2, 0], into: [1, 4]), [3, 0, 3, 0])
    }

    func testIndexSelectAndScatterAddRows() {
        let x = Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let sel = x.indexSelect(indices: [2, 0, 2])
        XCTAssertEqual(sel.shape, [3, 2]); assertClose(sel, [5, 6, 1, 2, 5, 6])
        let cols = x.indexSelect(axis: 1, indices: [1, 1, 0])
        XCTAssertEqual(cols.shape, [3, 3]); assertClose(cols, [2, 2, 1, 4, 4, 3, 6, 6, 5])
        XCTAssertEqual(x.indexSelect(indices: []).shape, [0, 2])

        let sc = x.scatterAdd(rowsInto: 4, indices: [3, 0, 3])
        XCTAssertEqual(sc.shape, [4, 2]); assertClose(sc, [3, 4, 0, 0, 0, 0, 6, 8])
        assertClose(x.indexAdd(axis: 1, indices: [1, 1], extent: 3), [0, 3, 0, 0, 7, 0, 0, 11, 0])
    }

    func testSegmentReductionsWithEmptySegments() {
        let x = Tensor(shape: [5, 2], scalars: [1, -1, 2, -7, 3, -3, 4, 4, -5, -5])
        let ids = [2, 0, 2, 2, 0]        // segments 1 and 3 are empty
        let s = x.segmentSum(segmentIDs: ids, segmentCount: 4)
        XCTAssertEqual(s.shape, [4, 2]); assertClose(s, [-3, -12, 0, 0, 8, 0, 0, 0])
        assertClose(x.segmentMean(segmentIDs: ids, segmentCount: 4), [-1.5, -6, 0, 0, 8.0 / 3, 0, 0, 0], tol: 1e-6)
        let (m, arg) = x.segmentMax(segmentIDs: ids, segmentCount: 4)
        assertClose(m, [2, -5, 0, 0, 4, 4, 0, 0])
        XCTAssertEqual(arg, [1, 4, -1, -1, 3, 3, -1, -1])
        // Ties go to the first row.
        let tie = Tensor(shape: [3, 1], scalars: [2, 5, 5]).segmentMax(segmentIDs: [0, 0, 0], segmentCount: 1)
        XCTAssertEqual(tie.argmax, [1])
        // Rank-1 input: one value per row.
        assertClose(Tensor(shape: [3], scalars: [1, 2, 3]).segmentSum(segmentIDs: [1, 1, 0], segmentCount: 2), [3, 3])
        // All-negative segment: max is negative, not the 0 used for empty segments.
        assertClose(Tensor(shape: [2, 1], scalars: [-3, -2]).segmentMax(segmentIDs: [0, 0], segmentCount: 2).values, [-2, 0])
    }

    func testWhereMaskedFillOneHot() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), b = Tensor(shape: [2, 2], scalars: [-1, -2, -3, -4])
        assertClose(Tensor.where([true, false, false, true], a, b), [1, -2, -3, 4])
        assertClose(Tensor.where(Tensor(shape: [2, 2], scalars: [0, 1, 0, 1]), a, b), [-1, 2, -3, 4])
        let bc = Tensor.where([true, false, true, false], a, Tensor(0))
        XCTAssertEqual(bc.shape, [2, 2]); assertClose(bc, [1, 0, 3, 0])
        let rows = Tensor.where([true, true, false, false], Tensor(shape: [2, 1], scalars: [9, 8]), b)
        assertClose(rows, [9, 9, -3, -4])

        assertClose(a.maskedFill([false, true, false, false], value: -.infinity), [1, -.infinity, 3, 4])
        assertClose(a.maskedFill(Tensor(shape: [2, 2], scalars: [1, 0, 0, 1]), value: 0), [0, 2, 3, 0])

        let oh = Tensor.oneHot([2, 0, 2], classes: 3)
        XCTAssertEqual(oh.shape, [3, 3]); assertClose(oh, [0, 0, 1, 1, 0, 0, 0, 0, 1])
    }

    func testSortAndTopkWithTies() {
        let x = Tensor(shape: [5], scalars: [3, 1, 2, 1, 3])
        let asc = x.sort()
        assertClose(asc.values, [1, 1, 2, 3, 3]); XCTAssertEqual(asc.indices, [1, 3, 2, 0, 4])
        let desc = x.sort(descending: true)
        assertClose(desc.values, [3, 3, 2, 1, 1]); XCTAssertEqual(desc.indices, [0, 4, 2, 1, 3])

        let m = Tensor(shape: [3, 2], scalars: [2, 0, 1, 0, 2, -1])
        let s0 = m.sort(axis: 0)
        assertClose(s0.values, [1, -1, 2, 0, 2, 0]); XCTAssertEqual(s0.indices, [1, 2, 0, 0, 2, 1])

        let nan = Tensor(shape: [3], scalars: [.nan, 1, 0]).sort()
        XCTAssertEqual(Array(nan.values.scalars.prefix(2)), [0, 1]); XCTAssertTrue(nan.values.scalars[2].isNaN)
        XCTAssertEqual(nan.indices, [2, 1, 0])

        let t = Tensor(shape: [2, 4], scalars: [1, 3, 2, 3, 5, 4, 4, 0])
        let top = t.topk(2)
        XCTAssertEqual(top.values.shape, [2, 2])
        assertClose(top.values, [3, 3, 5, 4]); XCTAssertEqual(top.indices, [1, 3, 0, 1])
        let bottom = t.topk(3, largest: false)
        assertClose(bottom.values, [1, 2, 3, 0, 4, 4]); XCTAssertEqual(bottom.indices, [0, 2, 1, 3, 1, 2])
        let col = t.topk(1, axis: 0)
        XCTAssertEqual(col.values.shape, [1, 4]); assertClose(col.values, [5, 4, 4, 3]); XCTAssertEqual(col.indices, [1, 1, 1, 0])
        XCTAssertEqual(t.topk(0).values.shape, [2, 0])
    }
}
