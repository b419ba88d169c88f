import XCTest
import FlowGen
import _FlowGenTestSupport

/// The tape itself: accumulation through shared nodes, repeated backward passes, stop-gradient and
/// no-recording regions — and a check that the gradient checker catches a wrong pullback.
final class GraphTests: XCTestCase {
    func testTensorUsedTwiceAccumulates() {
        let x = Variable(Tensor(shape: [3], scalars: [-1, 0.5, 2]), requiresGrad: true)
        let y = x * x + x                       // dy/dx = 2x + 1
        y.backward()
        assertClose(x.grad!, [-1, 2, 5])
    }

    func testDiamondGraph() {
        let x = Variable(Tensor(shape: [2], scalars: [0.3, -0.2]), requiresGrad: true)
        let a = x * 2
        let left = a * 3, right = a.tanh()
        let out = (left + right).sum()
        out.backward()
        let expected = x.value.scalars.map { xi -> Float in
            let t = Float(Variable(Tensor(2 * xi)).tanh().value.scalar)
            return 2 * (3 + (1 - t * t))
        }
        assertClose(x.grad!, expected, tol: 1e-6)
        // Deeper diamond: the shared node is reached through paths of different lengths.
        let z = Variable(Tensor(1.5), requiresGrad: true)
        let s = z * z                 // 2.25
        let u = s * s + s.exp() * z   // d/dz = 4z³ + e^{z²}(2z² + 1)
        u.backward()
        let zz: Float = 1.5
        let e = Variable(Tensor(zz * zz)).exp().value.scalar
        XCTAssertEqual(z.grad!.scalar, 4 * zz * zz * zz + e * (2 * zz * zz + 1), accuracy: 1e-4)
    }

    func testTwoBackwardCallsAccumulateOnLeaves() {
        let x = Variable(Tensor(shape: [2], scalars: [1, 2]), requiresGrad: true)
        (x * 3).sum().backward()
        assertClose(x.grad!, [3, 3])
        (x * x).sum().backward()
        assertClose(x.grad!, [5, 7])
        x.zeroGrad()
        XCTAssertNil(x.grad)
        (x * 3).sum().backward()
        assertClose(x.grad!, [3, 3])
    }

    func testOnlyLeavesKeepGradientsAndConstantsGetNone() {
        let w = Variable(Tensor(shape: [2], scalars: [1, 2]), requiresGrad: true)
        let c = Variable(Tensor(shape: [2], scalars: [5, 6]))
        let h = w * c
        (h * h).sum().backward(seed: Tensor(2))
        assertClose(w.grad!, [2 * 2 * 5 * 5 * 1, 2 * 2 * 6 * 6 * 2])
        XCTAssertNil(c.grad)
        XCTAssertNil(h.grad)
        XCTAssertFalse(c.requiresGrad)
        XCTAssertTrue(h.requiresGrad)
    }

    func testDetachedStopsGradients() {
        let x = Variable(Tensor(shape: [2], scalars: [2, 3]), requiresGrad: true)
        let y = x.detached() * x                // only the second factor is differentiated
        XCTAssertFalse(x.detached().requiresGrad)
        y.sum().backward()
        assertClose(x.grad!, [2, 3])
        let onlyDetached = x.detached() * 2
        XCTAssertFalse(onlyDetached.requiresGrad)
    }

    func testWithoutGradientsRecordsNothing() {
        let x = Variable(Tensor(shape: [2], scalars: [2, 3]), requiresGrad: true)
        let y = withoutGradients { (x * x).sum() }
        XCTAssertFalse(y.requiresGrad)
        assertClose(y.value, [13])
        y.backward()
        XCTAssertNil(x.grad)
        // Nested regions restore recording on exit.
        withoutGradients { withoutGradients { _ = x * x }; XCTAssertFalse((x * x).requiresGrad) }
        XCTAssertTrue((x * x).requiresGrad)
    }

    func testBackwardSeedOnNonScalarOutput() {
        let x = Variable(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), requiresGrad: true)
        (x * x).backward(seed: Tensor(shape: [2, 2], scalars: [1, 0, 0, 2]))
        assertClose(x.grad!, [2, 0, 0, 16])
    }

    func testGradientCheckerDetectsAWrongPullback() {
        let x = testTensor([2, 3], seed: 1)
        // Correct: d(x³)/dx = 3x².
        let right = gradientCheck([x]) { v in
            let xv = v[0].value
            return Variable(xv.map { $0 * $0 * $0 }, inputs: [v[0]]) { g in [g * xv.map { 3 * $0 * $0 }] }
        }
        XCTAssertTrue(right.passed, "\(right)")
        XCTAssertLessThan(right.maxRelError, 1e-2)
        // Wrong by 5 %: must be reported.
        let wrong = gradientCheck([x]) { v in
            let xv = v[0].value
            return Variable(xv.map { $0 * $0 * $0 }, inputs: [v[0]]) { g in [g * xv.map { 3.15 * $0 * $0 }] }
        }
        XCTAssertFalse(wrong.passed)
        XCTAssertGreaterThan(wrong.maxRelError, 0.04)
        // A graph cut (no gradient at all) is reported too.
        let cut = gradientCheck([x]) { v in Variable(v[0].value * 2) }
        XCTAssertFalse(cut.passed)
    }
}
