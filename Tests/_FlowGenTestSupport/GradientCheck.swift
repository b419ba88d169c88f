import XCTest
import FlowGen

/// Outcome of comparing reverse-mode gradients with central finite differences.
public struct GradientCheckReport: CustomStringConvertible {
    /// Largest |analytic − numeric| over every input element.
    public var maxAbsError: Double = 0
    /// Largest |analytic − numeric| / max(|analytic|, |numeric|) over elements where that maximum
    /// exceeds the absolute tolerance.
    public var maxRelError: Double = 0
    /// Elements outside `atol + rtol · max(|analytic|, |numeric|)`, as readable lines (first few only).
    public var mismatches: [String] = []
    /// Number of elements outside tolerance.
    public var mismatchCount = 0
    /// True when every element is within tolerance.
    public var passed: Bool { mismatchCount == 0 }

    public var description: String {
        "maxAbs \(maxAbsError), maxRel \(maxRelError), \(mismatchCount) mismatches"
            + (mismatches.isEmpty ? "" : ":\n  " + mismatches.joined(separator: "\n  "))
    }
}

/// Checks `f`'s reverse-mode gradients against central finite differences.
///
/// The output is reduced to the scalar L = Σ out ⊙ w with fixed random weights w ~ N(0, 1) (seeded):
/// the analytic side is `out.backward(seed: w)` (the same vector–Jacobian product); the numeric side is
/// (L(x + h) − L(x − h)) / (x₊ − x₋) per input element with h = `step` · max(1, |x|), evaluated on Float32
/// inputs and accumulated in Double. With Float32 forward passes the rounding noise is ≈ 1e-7·Σ|out·w|/h,
/// the truncation error ≈ h²·|f'''|/6: the defaults (h ≈ 1e-2, rtol 2e-2, atol 2e-3) suit O(1) values away
/// from kinks.
///
/// - Parameters:
///   - inputs: the values of the differentiated inputs; each becomes a leaf with `requiresGrad`.
///   - f: the function under test; it receives the leaves in `inputs` order.
public func gradientCheck(_ inputs: [Tensor], step: Double = 1e-2, rtol: Double = 2e-2, atol: Double = 2e-3,
                          seed: UInt64 = 0x5EED, _ f: ([Variable]) -> Variable) -> GradientCheckReport {
    let leaves = inputs.map { Variable($0, requiresGrad: true) }
    return compareWithFiniteDifferences(
        inputs, step: step, rtol: rtol, atol: atol, seed: seed,
        analytic: { (f(leaves), { leaves.map(\.grad) }) },
        evaluate: { values in f(values.map { Variable($0) }).value })
}

/// `gradientCheck` for parameters held inside a closure (modules): each leaf in `parameters` (which must
/// require gradients) is perturbed in place with `assign` and restored afterwards; `f` reads them.
/// Existing gradients of the parameters are cleared.
public func gradientCheck(parameters: [Variable], step: Double = 1e-2, rtol: Double = 2e-2, atol: Double = 2e-3,
                          seed: UInt64 = 0x5EED, _ f: () -> Variable) -> GradientCheckReport {
    let original = parameters.map(\.value)
    defer { for (p, v) in zip(parameters, original) { p.assign(v) } }
    for p in parameters { p.zeroGrad() }
    return compareWithFiniteDifferences(
        original, step: step, rtol: rtol, atol: atol, seed: seed,
        analytic: { (f(), { parameters.map(\.grad) }) },
        evaluate: { values in
            for (p, v) in zip(parameters, values) { p.assign(v) }
            return withoutGradients { f().value }
        })
}

/// The shared finite-difference loop: `analytic` builds the output graph and returns a reader for the
/// gradients after `backward(seed:)`; `evaluate` maps input values to the output value.
func compareWithFiniteDifferences(_ inputs: [Tensor], step: Double, rtol: Double, atol: Double, seed: UInt64,
                                  analytic: () -> (Variable, () -> [Tensor?]),
                                  evaluate: ([Tensor]) -> Tensor) -> GradientCheckReport {
    var report = GradientCheckReport()
    let (output, readGradients) = analytic()
    var rng = RandomGenerator(seed: seed)
    let weights = rng.normal(output.shape)
    let w = weights.scalars.map(Double.init)
    func objective(_ values: [Tensor]) -> Double {
        let out = evaluate(values)
        precondition(out.count == w.count, "gradientCheck: output shape changed to \(out.shape)")
        return out.withUnsafeBufferPointer { p in
            var acc: Double = 0
            for i in 0..<p.count { acc += Double(p[i]) * w[i] }
            return acc
        }
    }
    output.backward(seed: weights)
    let gradients = readGradients()
    for (k, input) in inputs.enumerated() {
        if let g = gradients[k], g.shape != input.shape {
            report.mismatchCount += 1
            report.mismatches.append("input \(k): gradient shape \(g.shape) for input \(input.shape)")
            continue
        }
        let analyticValues = gradients[k]?.scalars ?? [Float](repeating: 0, count: input.count)
        var perturbed = inputs
        let x = input.scalars
        for i in 0..<x.count {
            let h = step * Swift.max(1, Double(Swift.abs(x[i])))
            let plus = Float(Double(x[i]) + h), minus = Float(Double(x[i]) - h)
            var xs = x
            xs[i] = plus;  perturbed[k] = Tensor(shape: input.shape, scalars: xs)
            let lp = objective(perturbed)
            xs[i] = minus; perturbed[k] = Tensor(shape: input.shape, scalars: xs)
            let lm = objective(perturbed)
            let numeric = (lp - lm) / (Double(plus) - Double(minus))
            let a = Double(analyticValues[i])
            let err = Swift.abs(a - numeric)
            let scale = Swift.max(Swift.abs(a), Swift.abs(numeric))
            report.maxAbsError = Swift.max(report.maxAbsError, err.isNaN ? .infinity : err)
            if scale > atol { report.maxRelError = Swift.max(report.maxRelError, err / scale) }
            if !(err <= atol + rtol * scale) {
                report.mismatchCount += 1
                if report.mismatches.count < 6 {
                    report.mismatches.append("input \(k) \(input.shape) element \(i): analytic \(a), numeric \(numeric)")
                }
            }
        }
    }
    return report
}

/// Fails the current test unless `f`'s gradients with respect to every input match central finite
/// differences (see `gradientCheck`). Also fails when the output does not depend on the inputs through
/// the graph (no gradient where the finite differences see one).
public func assertGradientsMatchFiniteDifferences(
    _ inputs: [Tensor], step: Double = 1e-2, rtol: Double = 2e-2, atol: Double = 2e-3,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line,
    _ f: ([Variable]) -> Variable
) {
    let report = gradientCheck(inputs, step: step, rtol: rtol, atol: atol, f)
    if !report.passed {
        XCTFail("gradient check failed \(message()): \(report)", file: file, line: line)
    }
}

/// Fails the current test unless the gradients of the leaves in `parameters` match finite differences
/// (see `gradientCheck(parameters:)`).
public func assertParameterGradientsMatchFiniteDifferences(
    _ parameters: [Variable], step: Double = 1e-2, rtol: Double = 2e-2, atol: Double = 2e-3,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line,
    _ f: () -> Variable
) {
    let report = gradientCheck(parameters: parameters, step: step, rtol: rtol, atol: atol, f)
    if !report.passed {
        XCTFail("parameter gradient check failed \(message()): \(report)", file: file, line: line)
    }
}

/// Fails unless `actual` has `expected.count` elements, each within `tol` (absolute, or relative to the
/// larger magnitude when above 1). Equal infinities match; NaN matches only NaN.
public func assertClose(_ actual: Tensor, _ expected: [Float], tol: Float = 1e-5,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.scalars, expected, tol: tol, message(), file: file, line: line)
}

/// Element-wise closeness of two arrays (see the Tensor overload).
public func assertClose(_ actual: [Float], _ expected: [Float], tol: Float = 1e-5,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("count \(actual.count) ≠ expected \(expected.count) \(message())", file: file, line: line)
        return
    }
    for i in 0..<actual.count where !isClose(actual[i], expected[i], tol: tol) {
        XCTFail("element \(i): \(actual[i]) ≠ \(expected[i]) (tol \(tol)) \(message())\n actual: \(actual)",
                file: file, line: line)
        return
    }
}

/// Closeness of two scalars (see the Tensor overload).
public func assertClose(_ actual: Float, _ expected: Float, tol: Float = 1e-5,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    if !isClose(actual, expected, tol: tol) {
        XCTFail("\(actual) ≠ \(expected) (tol \(tol)) \(message())", file: file, line: line)
    }
}

/// |a − b| ≤ tol · max(1, |a|, |b|); equal infinities match; NaN matches only NaN.
public func isClose(_ a: Float, _ b: Float, tol: Float) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    return Swift.abs(a - b) <= tol * Swift.max(1, Swift.abs(a), Swift.abs(b))
}

/// Deterministic test inputs: uniform in ±[minMagnitude, maxMagnitude] (kept away from 0, where relu,
/// abs, clamp-style kinks live) with a seeded generator.
public func testTensor(_ shape: [Int], seed: UInt64, minMagnitude: Float = 0.2, maxMagnitude: Float = 1.5,
                       positive: Bool = false) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    var t = Tensor(uninitialized: shape)
    t.withUnsafeMutableBufferPointer { p in
        for i in 0..<p.count {
            let m = minMagnitude + (maxMagnitude - minMagnitude) * rng.nextUniform()
            p[i] = positive || rng.nextUniform() < 0.5 ? m : -m
        }
    }
    return t
}

/// Deterministic distinct values (a shuffled grid with spacing `spacing`), for ops with argmax/sort
/// kinks where finite differences must not reorder elements.
public func distinctTensor(_ shape: [Int], seed: UInt64, spacing: Float = 0.15) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    let n = Shape.elementCount(shape)
    let perm = rng.permutation(n)
    let offset = Float(n) * spacing / 2
    return Tensor(shape: shape, scalars: perm.map { Float($0) * spacing - offset + 0.05 })
}
