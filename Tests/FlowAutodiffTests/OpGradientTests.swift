import XCTest
import FlowGen
import _FlowGenTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Finite-difference gradient checks for every differentiable op in FlowAutodiff (indexing ops are in
/// IndexingOpTests). Inputs are kept ≥ 0.2 away from kinks (0 for relu/abs/…, clamp bounds) and, for
/// max/min, distinct by ≥ 0.15 so that a step of ≈ 1e-2 never changes the selected element.
final class OpGradientTests: XCTestCase {
    // MARK: arithmetic

    func testBroadcastArithmeticGradients() {
        let shapes: [([Int], [Int])] = [
            ([3, 4], [3, 4]), ([3, 4], [4]), ([4], [3, 4]), ([3, 1], [1, 4]), ([2, 3, 4], [3, 1]),
            ([3, 1], [2, 1, 4]), ([], [2, 3]), ([2, 3], []), ([2, 3], [1]), ([3], [1, 1]),
        ]
        for (k, (sa, sb)) in shapes.enumerated() {
            let x = testTensor(sa, seed: UInt64(10 + k))
            let y = testTensor(sb, seed: UInt64(50 + k), minMagnitude: 0.8, maxMagnitude: 1.6, positive: true)
            assertGradientsMatchFiniteDifferences([x, y], "+ \(sa) \(sb)") { $0[0] + $0[1] }
            assertGradientsMatchFiniteDifferences([x, y], "- \(sa) \(sb)") { $0[0] - $0[1] }
            assertGradientsMatchFiniteDifferences([x, y], "* \(sa) \(sb)") { $0[0] * $0[1] }
            assertGradientsMatchFiniteDifferences([x, y], "/ \(sa) \(sb)") { $0[0] / $0[1] }
            assertGradientsMatchFiniteDifferences([y, x], "/ \(sb) \(sa)") { $0[1] / $0[0] }
        }
    }

    func testScalarArithmeticGradients() {
        let x = testTensor([2, 3], seed: 1)
        assertGradientsMatchFiniteDifferences([x]) { -$0[0] }
        assertGradientsMatchFiniteDifferences([x]) { $0[0] + 2.5 }
        assertGradientsMatchFiniteDifferences([x]) { 2.5 + $0[0] }
        assertGradientsMatchFiniteDifferences([x]) { $0[0] - 1.5 }
        assertGradientsMatchFiniteDifferences([x]) { 1.5 - $0[0] }
        assertGradientsMatchFiniteDifferences([x]) { $0[0] * -3 }
        assertGradientsMatchFiniteDifferences([x]) { 0.5 * $0[0] }
        assertGradientsMatchFiniteDifferences([x]) { $0[0] / 4 }
        // The same input on both sides of an operator.
        assertGradientsMatchFiniteDifferences([x]) { $0[0] * $0[0] - $0[0] / 3 }
    }

    func testPowGradients() {
        let x = testTensor([2, 3], seed: 2)
        let positive = testTensor([2, 3], seed: 3, minMagnitude: 0.5, maxMagnitude: 1.5, positive: true)
        assertGradientsMatchFiniteDifferences([x]) { $0[0].pow(2) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].pow(3) }
        assertGradientsMatchFiniteDifferences([positive]) { $0[0].pow(0.5) }
        assertGradientsMatchFiniteDifferences([positive]) { $0[0].pow(-1.5) }
    }

    // MARK: matrix products

    func testMatmulGradientsAllTransposes() {
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = testTensor(transposeA ? [4, 3] : [3, 4], seed: 4)
                let b = testTensor(transposeB ? [5, 4] : [4, 5], seed: 5)
                assertGradientsMatchFiniteDifferences([a, b], "transposes \(transposeA) \(transposeB)") {
                    $0[0].matmul($0[1], transposeSelf: transposeA, transposeOther: transposeB)
                }
            }
        }
        // Only one side requiring gradients.
        let a = testTensor([2, 3], seed: 6), b = testTensor([3, 2], seed: 7)
        assertGradientsMatchFiniteDifferences([a]) { $0[0].matmul(Variable(b)) }
        assertGradientsMatchFiniteDifferences([b]) { Variable(a).matmul($0[0]) }
    }

    func testBatchedMatmulGradients() {
        let a = testTensor([2, 3, 4], seed: 8), b = testTensor([2, 4, 2], seed: 9)
        assertGradientsMatchFiniteDifferences([a, b]) { $0[0].batchedMatmul($0[1]) }
    }

    func testLinearGradients() {
        let x = testTensor([4, 3], seed: 10), w = testTensor([2, 3], seed: 11), b = testTensor([2], seed: 12)
        assertGradientsMatchFiniteDifferences([x, w, b], "with bias") { linear($0[0], weight: $0[1], bias: $0[2]) }
        assertGradientsMatchFiniteDifferences([x, w], "without bias") { linear($0[0], weight: $0[1], bias: nil) }
        // Forward value: x Wᵀ + b.
        let y = linear(Variable(x), weight: Variable(w), bias: Variable(b)).value
        let expected = x.matmul(w, transposeOther: true) + b
        assertClose(y, expected.scalars, tol: 1e-6)
    }

    // MARK: element-wise functions

    func testUnaryGradients() {
        let x = testTensor([3, 4], seed: 13)
        let positive = testTensor([3, 4], seed: 14, minMagnitude: 0.3, maxMagnitude: 2, positive: true)
        let wide = testTensor([3, 4], seed: 15, minMagnitude: 0.2, maxMagnitude: 4)
        let cases: [(String, Tensor, (Variable) -> Variable)] = [
            ("exp", x, { $0.exp() }), ("log", positive, { $0.log() }), ("log1p", positive, { $0.log1p() }),
            ("log1p near -1", positive.map { $0 * 0.3 - 0.7 }, { $0.log1p() }),
            ("sqrt", positive, { $0.sqrt() }), ("abs", x, { $0.abs() }), ("tanh", x, { $0.tanh() }),
            ("sigmoid", wide, { $0.sigmoid() }), ("relu", x, { $0.relu() }),
            ("leakyRelu", x, { $0.leakyRelu(slope: 0.1) }), ("elu", x, { $0.elu() }),
            ("elu α=0.5", x, { $0.elu(alpha: 0.5) }), ("selu", x, { $0.selu() }), ("gelu", wide, { $0.gelu() }),
            ("silu", wide, { $0.silu() }), ("softplus", wide, { $0.softplus() }),
        ]
        for (name, input, f) in cases {
            assertGradientsMatchFiniteDifferences([input], name) { f($0[0]) }
        }
        let c = Tensor(shape: [8], scalars: [-1.2, -0.9, -0.3, 0.1, 0.4, 0.9, 1.3, -0.1])
        assertGradientsMatchFiniteDifferences([c], "clamp") { $0[0].clamp(min: -0.6, max: 0.7) }
        assertGradientsMatchFiniteDifferences([c], "clamp below") { $0[0].clamp(min: -0.5) }
        assertGradientsMatchFiniteDifferences([c], "clamp above") { $0[0].clamp(max: 0.5) }
        // Softplus far in both tails (its stable branches switch at ±20).
        let tails = Tensor(shape: [4], scalars: [-25, -19, 19, 25])
        assertGradientsMatchFiniteDifferences([tails], "softplus tails") { $0[0].softplus() }
    }

    func testUnaryValues() {
        let x = Variable(Tensor(shape: [4], scalars: [-2, -0.5, 0.5, 2]))
        assertClose(x.relu().value, [0, 0, 0.5, 2])
        assertClose(x.abs().value, [2, 0.5, 0.5, 2])
        assertClose(x.leakyRelu(slope: 0.1).value, [-0.2, -0.05, 0.5, 2])
        assertClose(x.gelu().value, [-0.0455002639, -0.1542687694, 0.3457312306, 1.9544997361], tol: 1e-6)
        assertClose(x.selu().value, [-1.5201664685, -0.6917581878, 0.5253504937, 2.1014019748], tol: 1e-6)
        assertClose(x.softplus().value, [0.1269280110, 0.4740769842, 0.9740769842, 2.1269280110], tol: 1e-6)
        assertClose(x.silu().value, [-0.2384058440, -0.1887703343, 0.3112296657, 1.7615941560], tol: 1e-6)
        assertClose(x.clamp(min: -1, max: 1).value, [-1, -0.5, 0.5, 1])
        assertClose(Variable(Tensor(shape: [2], scalars: [-100, 100])).softplus().value, [0, 100], tol: 1e-6)
        // Longer arrays (vectorised kernels and their tails) against libm.
        let grid = (0..<37).map { Float($0) * 20 / 36 - 10 }
        let v = Variable(Tensor(shape: [37], scalars: grid))
        assertClose(v.exp().value, grid.map { expf($0) }, tol: 1e-5, "exp")
        assertClose(v.tanh().value, grid.map { tanhf($0) }, tol: 1e-6, "tanh")
        assertClose(v.sigmoid().value, grid.map { 1 / (1 + expf(-$0)) }, tol: 1e-6, "sigmoid")
        let positive = Variable(Tensor(shape: [37], scalars: grid.map { $0 + 10.5 }))
        assertClose(positive.log().value, grid.map { logf($0 + 10.5) }, tol: 1e-6, "log")
        assertClose(positive.sqrt().value, grid.map { sqrtf($0 + 10.5) }, tol: 1e-6, "sqrt")
        assertClose(positive.log1p().value, grid.map { log1pf($0 + 10.5) }, tol: 1e-6, "log1p")
    }

    // MARK: reductions

    func testSumMeanGradients() {
        let x = testTensor([2, 3, 4], seed: 16)
        assertGradientsMatchFiniteDifferences([x], "sum") { $0[0].sum() }
        assertGradientsMatchFiniteDifferences([x], "mean") { $0[0].mean() }
        for axis in [0, 1, 2, -1] {
            for keepDims in [false, true] {
                assertGradientsMatchFiniteDifferences([x], "sum axis \(axis) keep \(keepDims)") {
                    $0[0].sum(axis: axis, keepDims: keepDims)
                }
                assertGradientsMatchFiniteDifferences([x], "mean axis \(axis) keep \(keepDims)") {
                    $0[0].mean(axis: axis, keepDims: keepDims)
                }
            }
        }
        XCTAssertEqual(Variable(x).sum(axis: 1, keepDims: true).shape, [2, 1, 4])
        XCTAssertEqual(Variable(x).mean(axis: 1).shape, [2, 4])
    }

    func testMaxMinGradients() {
        let x = distinctTensor([3, 4], seed: 17)
        for axis in [0, 1] {
            for keepDims in [false, true] {
                assertGradientsMatchFiniteDifferences([x], "max axis \(axis) keep \(keepDims)") { $0[0].max(axis: axis, keepDims: keepDims) }
                assertGradientsMatchFiniteDifferences([x], "min axis \(axis) keep \(keepDims)") { $0[0].min(axis: axis, keepDims: keepDims) }
            }
        }
        let x3 = distinctTensor([2, 3, 4], seed: 18)
        assertGradientsMatchFiniteDifferences([x3], "max middle axis") { $0[0].max(axis: 1) }
        // Ties: the whole gradient goes to the first maximum.
        let t = Variable(Tensor(shape: [1, 3], scalars: [2, 5, 5]), requiresGrad: true)
        t.max(axis: 1).backward()
        assertClose(t.grad!, [0, 1, 0])
    }

    func testLogSumExpSoftmaxGradients() {
        let x = testTensor([3, 4], seed: 19, maxMagnitude: 2)
        let x3 = testTensor([2, 3, 2], seed: 20, maxMagnitude: 2)
        for axis in [0, 1, -1] {
            for keepDims in [false, true] {
                assertGradientsMatchFiniteDifferences([x], "logSumExp axis \(axis) keep \(keepDims)") {
                    $0[0].logSumExp(axis: axis, keepDims: keepDims)
                }
            }
            assertGradientsMatchFiniteDifferences([x], "logSoftmax axis \(axis)") { $0[0].logSoftmax(axis: axis) }
            assertGradientsMatchFiniteDifferences([x], "softmax axis \(axis)") { $0[0].softmax(axis: axis) }
        }
        assertGradientsMatchFiniteDifferences([x3], "logSumExp 3-D") { $0[0].logSumExp(axis: 1) }
        assertGradientsMatchFiniteDifferences([x3], "logSoftmax 3-D") { $0[0].logSoftmax(axis: 1) }
        assertGradientsMatchFiniteDifferences([x3], "softmax 3-D") { $0[0].softmax(axis: 1) }
    }

    func testLogSumExpWithMinusInfinity() {
        let ninf = -Float.infinity
        let x = Variable(Tensor(shape: [2, 3], scalars: [0, ninf, 0, ninf, ninf, ninf]), requiresGrad: true)
        let y = x.logSumExp(axis: 1)
        assertClose(y.value, [0.6931471806, ninf], tol: 1e-6)
        y.backward()
        // The -inf entry gets no gradient; an all -inf row gets zeros, not NaN.
        assertClose(x.grad!, [0.5, 0, 0.5, 0, 0, 0], tol: 1e-6)
    }

    // MARK: shape ops

    func testShapeOpGradients() {
        let x = testTensor([2, 3, 4], seed: 21)
        assertGradientsMatchFiniteDifferences([x], "reshaped") { $0[0].reshaped([6, 4]) * $0[0].reshaped([6, 4]) }
        assertGradientsMatchFiniteDifferences([x], "permuted 201") { $0[0].permuted([2, 0, 1]) }
        assertGradientsMatchFiniteDifferences([x], "permuted 120") {
            // A non-linear consumer so that a wrong inverse permutation misplaces gradients.
            $0[0].permuted([1, 2, 0]) * Variable(testTensor([3, 4, 2], seed: 99))
        }
        assertGradientsMatchFiniteDifferences([x], "transposed 3-D") { $0[0].transposed() * Variable(testTensor([2, 4, 3], seed: 98)) }
        let m = testTensor([3, 5], seed: 22)
        assertGradientsMatchFiniteDifferences([m], "transposed 2-D") { $0[0].transposed().matmul(Variable(testTensor([3, 2], seed: 97))) }
        assertGradientsMatchFiniteDifferences([x], "slice") { $0[0].slice(axis: 1, start: 1, end: 3) }
        assertGradientsMatchFiniteDifferences([x], "slice last") { $0[0].slice(axis: -1, start: 0, end: 1) }
    }

    func testConcatStackGradients() {
        let a = testTensor([2, 3], seed: 23), b = testTensor([1, 3], seed: 24), c = testTensor([3, 3], seed: 25)
        assertGradientsMatchFiniteDifferences([a, b, c], "concat axis 0") { Variable.concat($0, axis: 0) }
        let d = testTensor([2, 1], seed: 26), e = testTensor([2, 4], seed: 27)
        assertGradientsMatchFiniteDifferences([a, d, e], "concat axis 1") { Variable.concat($0, axis: 1) }
        let f = testTensor([2, 3], seed: 28)
        for axis in [0, 1, 2, -1] {
            assertGradientsMatchFiniteDifferences([a, f], "stack axis \(axis)") { Variable.stack($0, axis: axis) }
        }
        XCTAssertEqual(Variable.stack([Variable(a), Variable(f)], axis: 1).shape, [2, 2, 3])
    }
}
