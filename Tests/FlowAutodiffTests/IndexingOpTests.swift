import XCTest
import FlowGen
import _FlowGenTestSupport

/// Gradient checks and hand-computed backward values for the index-driven ops.
final class IndexingOpTests: XCTestCase {
    func testGatherGradients() {
        let x = testTensor([3, 4], seed: 1)
        assertGradientsMatchFiniteDifferences([x], "axis 1 with repeats") {
            $0[0].gather(axis: 1, indices: [3, 3, 0, 1, 2, 1], shape: [3, 2])
        }
        assertGradientsMatchFiniteDifferences([x], "axis 0") {
            $0[0].gather(axis: 0, indices: [2, 0, 2, 1, 1, 1, 0, 0], shape: [2, 4])
        }
        assertGradientsMatchFiniteDifferences([x], "default shape") { $0[0].gather(axis: -1, indices: [1, 0, 3]) }
        let x3 = testTensor([2, 3, 2], seed: 2)
        assertGradientsMatchFiniteDifferences([x3], "3-D, smaller index shape") {
            $0[0].gather(axis: 1, indices: [2, 2, 0, 1], shape: [2, 2, 1])
        }
        // Repeated indices accumulate.
        let v = Variable(Tensor(shape: [1, 3], scalars: [1, 2, 3]), requiresGrad: true)
        let y = v.gather(axis: 1, indices: [2, 2, 0], shape: [1, 3])
        assertClose(y.value, [3, 3, 1])
        y.backward(seed: Tensor(shape: [1, 3], scalars: [1, 10, 100]))
        assertClose(v.grad!, [100, 0, 11])
    }

    func testIndexSelectAndScatterAddGradients() {
        let x = testTensor([4, 3], seed: 3)
        assertGradientsMatchFiniteDifferences([x], "indexSelect rows") { $0[0].indexSelect(indices: [3, 1, 3, 0, 3]) }
        assertGradientsMatchFiniteDifferences([x], "indexSelect columns") { $0[0].indexSelect(axis: 1, indices: [2, 0, 2]) }
        assertGradientsMatchFiniteDifferences([x], "scatterAdd rows") { $0[0].scatterAdd(rowsInto: 6, indices: [5, 0, 5, 2]) }

        let v = Variable(Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]), requiresGrad: true)
        let sel = v.indexSelect(indices: [2, 0, 2])
        assertClose(sel.value, [5, 6, 1, 2, 5, 6])
        sel.backward(seed: Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]))
        assertClose(v.grad!, [3, 4, 0, 0, 6, 8])

        let w = Variable(Tensor(shape: [3, 1], scalars: [1, 2, 3]), requiresGrad: true)
        let sc = w.scatterAdd(rowsInto: 2, indices: [1, 0, 1])
        assertClose(sc.value, [2, 4])
        sc.backward(seed: Tensor(shape: [2, 1], scalars: [10, 20]))
        assertClose(w.grad!, [20, 10, 20])
    }

    func testSegmentGradients() {
        let ids = [3, 0, 3, 3, 0, 1]       // segment 2 is empty
        let x = distinctTensor([6, 2], seed: 4)
        assertGradientsMatchFiniteDifferences([x], "segmentSum") { $0[0].segmentSum(segmentIDs: ids, segmentCount: 5) }
        assertGradientsMatchFiniteDifferences([x], "segmentMean") { $0[0].segmentMean(segmentIDs: ids, segmentCount: 5) }
        assertGradientsMatchFiniteDifferences([x], "segmentMax") { $0[0].segmentMax(segmentIDs: ids, segmentCount: 5) }

        let v = Variable(Tensor(shape: [4, 1], scalars: [2, 7, 7, 1]), requiresGrad: true)
        let m = v.segmentMax(segmentIDs: [0, 0, 0, 2], segmentCount: 3)
        assertClose(m.value, [7, 0, 1])
        m.backward(seed: Tensor(shape: [3, 1], scalars: [1, 5, 3]))
        assertClose(v.grad!, [0, 1, 0, 3])     // first argmax only; empty segment sends nothing

        let u = Variable(Tensor(shape: [3, 1], scalars: [1, 2, 3]), requiresGrad: true)
        let mean = u.segmentMean(segmentIDs: [1, 1, 0], segmentCount: 3)
        assertClose(mean.value, [3, 1.5, 0])
        mean.backward(seed: Tensor(shape: [3, 1], scalars: [1, 2, 4]))
        assertClose(u.grad!, [1, 1, 1])
    }

    func testWhereAndMaskedFillGradients() {
        let a = testTensor([2, 3], seed: 5), b = testTensor([2, 3], seed: 6)
        let mask = [true, false, false, true, true, false]
        assertGradientsMatchFiniteDifferences([a, b], "where") { Variable.where(mask, $0[0], $0[1]) }
        let maskTensor = Tensor(shape: [2, 3], scalars: mask.map { $0 ? 1 : 0 })
        assertGradientsMatchFiniteDifferences([a, b], "where tensor mask") { Variable.where(maskTensor, $0[0], $0[1]) }
        let row = testTensor([3], seed: 7), scalar = testTensor([], seed: 8)
        assertGradientsMatchFiniteDifferences([a, row], "where broadcast row") { Variable.where(mask, $0[0], $0[1]) }
        assertGradientsMatchFiniteDifferences([scalar, a], "where broadcast scalar") { Variable.where(mask, $0[0], $0[1]) }
        assertGradientsMatchFiniteDifferences([a], "maskedFill") { $0[0].maskedFill(mask, value: -3) }
        assertGradientsMatchFiniteDifferences([a], "maskedFill tensor mask") { $0[0].maskedFill(maskTensor, value: 7) }

        let x = Variable(Tensor(shape: [3], scalars: [1, 2, 3]), requiresGrad: true)
        let y = Variable(Tensor(3), requiresGrad: true)
        let w = Variable.where([true, false, false], x, y)
        assertClose(w.value, [1, 3, 3])
        w.backward(seed: Tensor(shape: [3], scalars: [1, 2, 4]))
        assertClose(x.grad!, [1, 0, 0]); assertClose(y.grad!, [6])

        let f = Variable(Tensor(shape: [3], scalars: [1, 2, 3]), requiresGrad: true)
        let filled = f.maskedFill([false, true, false], value: -.infinity)
        assertClose(filled.value, [1, -.infinity, 3])
        filled.backward(seed: Tensor(shape: [3], scalars: [5, 6, 7]))
        assertClose(f.grad!, [5, 0, 7])
    }

    func testOneHotHasNoGradientButFeedsOps() {
        let logits = testTensor([3, 4], seed: 9)
        let picks = Tensor.oneHot([1, 3, 0], classes: 4)
        assertGradientsMatchFiniteDifferences([logits], "one-hot selection") {
            ($0[0].logSoftmax(axis: 1) * Variable(picks)).sum(axis: 1)
        }
    }

    func testCumsumGradients() {
        let x = testTensor([3, 4], seed: 10)
        for axis in [0, 1, -1] {
            for reverse in [false, true] {
                assertGradientsMatchFiniteDifferences([x], "cumsum axis \(axis) reverse \(reverse)") {
                    $0[0].cumsum(axis: axis, reverse: reverse)
                }
            }
        }
        let x3 = testTensor([2, 3, 2], seed: 11)
        assertGradientsMatchFiniteDifferences([x3], "cumsum 3-D middle axis") { $0[0].cumsum(axis: 1) }
        let v = Variable(Tensor(shape: [3], scalars: [1, 2, 3]), requiresGrad: true)
        let c = v.cumsum(axis: 0)
        assertClose(c.value, [1, 3, 6])
        c.backward(seed: Tensor(shape: [3], scalars: [1, 10, 100]))
        assertClose(v.grad!, [111, 110, 100])
    }

    func testSortAndTopkGradients() {
        let x = distinctTensor([3, 5], seed: 12)
        for descending in [false, true] {
            assertGradientsMatchFiniteDifferences([x], "sort last axis desc \(descending)") { $0[0].sort(descending: descending).values }
            assertGradientsMatchFiniteDifferences([x], "sort axis 0 desc \(descending)") { $0[0].sort(axis: 0, descending: descending).values }
        }
        for largest in [false, true] {
            assertGradientsMatchFiniteDifferences([x], "topk 2 largest \(largest)") { $0[0].topk(2, largest: largest).values }
            assertGradientsMatchFiniteDifferences([x], "topk axis 0 largest \(largest)") { $0[0].topk(2, axis: 0, largest: largest).values }
        }

        // Ties: stable order decides which source position each output element comes from.
        let v = Variable(Tensor(shape: [4], scalars: [1, 3, 2, 3]), requiresGrad: true)
        let (sorted, order) = v.sort(descending: true)
        XCTAssertEqual(order, [1, 3, 2, 0])
        sorted.backward(seed: Tensor(shape: [4], scalars: [1, 10, 100, 1000]))
        assertClose(v.grad!, [1000, 1, 100, 10])

        let t = Variable(Tensor(shape: [4], scalars: [1, 3, 2, 3]), requiresGrad: true)
        let (top, topIndices) = t.topk(1)
        XCTAssertEqual(topIndices, [1]); assertClose(top.value, [3])
        top.backward()
        assertClose(t.grad!, [0, 1, 0, 0])
    }
}
