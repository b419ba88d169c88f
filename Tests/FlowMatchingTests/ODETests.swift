import XCTest
import FlowGen

/// dx/dt = A x with A = [[-0.5, 2], [-2, -0.5]] (damped rotation): x(t) = e^{-t/2} R(−2t) x(0).
private func linearField(_ x: Tensor, _ t: Double) -> Tensor {
    let n = x.shape[0]
    var out = Tensor(uninitialized: [n, 2])
    out.withUnsafeMutableBufferPointer { o in x.withUnsafeBufferPointer { p in
        for i in 0..<n {
            let a = p[2 * i], b = p[2 * i + 1]
            o[2 * i] = -0.5 * a + 2 * b
            o[2 * i + 1] = -2 * a - 0.5 * b
        }
    } }
    return out
}

private func exact(_ x: Tensor, _ t: Double) -> [Double] {
    var out: [Double] = []
    for i in 0..<x.shape[0] {
        let a = Double(x[flat: 2 * i]), b = Double(x[flat: 2 * i + 1])
        let d = exp(-0.5 * t)
        out += [d * (cos(2 * t) * a + sin(2 * t) * b), d * (-sin(2 * t) * a + cos(2 * t) * b)]
    }
    return out
}

final class ODETests: XCTestCase {
    let x0 = Tensor(shape: [3, 2], scalars: [1, 0, 0, 1, -0.5, 2])

    private func maxError(_ s: ODESolution, t: Double) -> Double {
        zip(s.state.scalars, exact(x0, t)).map { abs(Double($0) - $1) }.max()!
    }

    func testFixedStepMethodsConvergeAtTheirOrder() throws {
        for (method, order, perStep) in [(ODEMethod.euler, 1.0, 1), (.midpoint, 2, 2), (.heun, 2, 2), (.rk4, 4, 4)] {
            var o = ODEOptions(); o.steps = 20
            let coarse = try odeSolve(linearField, x0: x0, from: 0, to: 1, method: method, options: o)
            o.steps = 40
            let fine = try odeSolve(linearField, x0: x0, from: 0, to: 1, method: method, options: o)
            XCTAssertEqual(coarse.nfe, 20 * perStep)
            let ratio = maxError(coarse, t: 1) / maxError(fine, t: 1)
            if method == .rk4 {
                XCTAssertLessThan(maxError(fine, t: 1), 1e-5)   // at Float precision already
            } else {
                XCTAssertEqual(log2(ratio), order, accuracy: 0.3, "\(method)")
            }
        }
    }

    func testDopri5MeetsToleranceWithSaneNFE() throws {
        for tol in [1e-3, 1e-5] {
            var o = ODEOptions(); o.rtol = tol; o.atol = tol
            let s = try odeSolve(linearField, x0: x0, from: 0, to: 2, method: .dopri5, options: o)
            XCTAssertLessThan(maxError(s, t: 2), 20 * tol + 1e-6, "tol \(tol)")
            XCTAssertEqual(s.nfe, 2 + 6 * (s.acceptedSteps + s.rejectedSteps))
            XCTAssertGreaterThan(s.nfe, 8)
            XCTAssertLessThan(s.nfe, tol == 1e-3 ? 80 : 200)
        }
    }

    func testDopri5BackwardRecoversStart() throws {
        var o = ODEOptions(); o.rtol = 1e-6; o.atol = 1e-6
        let fwd = try odeSolve(linearField, x0: x0, from: 0, to: 1, method: .dopri5, options: o)
        let back = try odeSolve(linearField, x0: fwd.state, from: 1, to: 0, method: .dopri5, options: o)
        for (a, b) in zip(back.state.scalars, x0.scalars) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        o.recordTrajectory = true
        let rk = try odeSolve(linearField, x0: fwd.state, from: 1, to: 0, method: .rk4, options: o)
        XCTAssertEqual(rk.trajectory.count, 101); XCTAssertEqual(rk.times.last, 0)
    }

    func testFailuresAreErrorsNotCrashes() {
        // Blow-up: dx/dt = x² from x = 1 reaches infinity at t = 1.
        let blowUp: (Tensor, Double) -> Tensor = { x, _ in x * x }
        let one = Tensor(shape: [1, 1], scalars: [1])
        var o = ODEOptions(); o.maxNumSteps = 100_000
        XCTAssertThrowsError(try odeSolve(blowUp, x0: one, from: 0, to: 2, method: .dopri5, options: o))
        XCTAssertThrowsError(try odeSolve(blowUp, x0: one, from: 0, to: 2, method: .euler, options: ODEOptions())) { e in
            guard case .nonFinite = e as? ODEError else { return XCTFail("\(e)") }
        }
        o = ODEOptions(); o.maxNumSteps = 3; o.rtol = 1e-9; o.atol = 1e-9
        XCTAssertThrowsError(try odeSolve(linearField, x0: x0, from: 0, to: 5, method: .dopri5, options: o)) { e in
            guard case .tooManySteps = e as? ODEError else { return XCTFail("\(e)") }
        }
        o = ODEOptions(); o.minStep = 0.5; o.rtol = 1e-8; o.atol = 1e-8
        XCTAssertThrowsError(try odeSolve(linearField, x0: x0, from: 0, to: 5, method: .dopri5, options: o)) { e in
            guard case .stepUnderflow = e as? ODEError else { return XCTFail("\(e)") }
        }
        let nan: (Tensor, Double) -> Tensor = { x, _ in x.map { _ in .nan } }
        XCTAssertThrowsError(try odeSolve(nan, x0: x0, from: 0, to: 1, method: .dopri5))
    }
}
