import XCTest
import Foundation
import FlowGen
import _FlowGenTestSupport

/// Layers: shapes, PyTorch-compatible initialisation, parameter naming, state round trips, gradients.
final class LayerTests: XCTestCase {
    func testLinearShapesValueAndTorchDefaultInitBounds() {
        var rng = RandomGenerator(seed: 1)
        let layer = Linear(64, 32, rng: &rng)
        XCTAssertEqual(layer.weight.shape, [32, 64]); XCTAssertEqual(layer.bias?.shape, [32])
        XCTAssertEqual(layer.inFeatures, 64); XCTAssertEqual(layer.outFeatures, 32)
        // torch.nn.Linear: weight and bias ~ U(−1/√fan_in, 1/√fan_in).
        let bound: Float = 1 / 8
        let w = layer.weight.value.scalars, b = layer.bias!.value.scalars
        XCTAssertTrue(w.allSatisfy { Swift.abs($0) <= bound }); XCTAssertTrue(b.allSatisfy { Swift.abs($0) <= bound })
        XCTAssertGreaterThan(w.map { Swift.abs($0) }.max()!, 0.95 * bound)        // fills the interval
        let variance = w.reduce(0.0) { $0 + Double($1 * $1) } / Double(w.count)
        XCTAssertEqual(variance, Double(bound * bound) / 3, accuracy: 0.1 * Double(bound * bound) / 3)
        XCTAssertTrue(layer.weight.requiresGrad)

        let x = testTensor([5, 64], seed: 2)
        let y = layer(Variable(x))
        XCTAssertEqual(y.shape, [5, 32])
        assertClose(y.value, (x.matmul(layer.weight.value, transposeOther: true) + layer.bias!.value).scalars, tol: 1e-5)
        XCTAssertEqual(layer.namedParameters().map(\.name), ["weight", "bias"])
        let noBias = Linear(3, 2, bias: false, rng: &rng)
        XCTAssertNil(noBias.bias)
        XCTAssertEqual(noBias.namedParameters().map(\.name), ["weight"])
    }

    func testLinearParameterGradients() {
        var rng = RandomGenerator(seed: 3)
        let layer = Linear(3, 2, rng: &rng)
        let x = Variable(testTensor([4, 3], seed: 4))
        assertParameterGradientsMatchFiniteDifferences(layer.parameters) { layer(x).tanh() }
    }

    func testMLPShapesNamesAndGradients() {
        var rng = RandomGenerator(seed: 5)
        let mlp = MLP(widths: [4, 8, 8, 2], activation: .tanh, rng: &rng)
        XCTAssertEqual(mlp.widths, [4, 8, 8, 2])
        XCTAssertEqual(mlp.namedParameters().map(\.name),
                       ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                        "layers.2.weight", "layers.2.bias"])
        XCTAssertEqual(mlp.parameterCount, 4 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2)
        let x = testTensor([3, 4], seed: 6)
        XCTAssertEqual(mlp(Variable(x)).shape, [3, 2])
        assertGradientsMatchFiniteDifferences([x], "MLP input") { mlp($0[0]) }
        assertParameterGradientsMatchFiniteDifferences(mlp.parameters, "MLP parameters") { mlp(Variable(x)) }
        // Every activation kind runs and keeps the shape.
        for kind in ActivationKind.allCases {
            var r = RandomGenerator(seed: 7)
            XCTAssertEqual(MLP(widths: [4, 3], outputActivation: kind, rng: &r)(Variable(x)).shape, [3, 3], kind.rawValue)
        }
    }

    func testMLPEvaluateMatchesTheGraphForwardForEveryActivation() {
        // 300 rows: two full blocks of 128 and a partial one; widths as the flow-matching velocity net.
        let x = testTensor([300, 3], seed: 11)
        for kind in ActivationKind.allCases {
            var rng = RandomGenerator(seed: 12)
            let mlp = MLP(widths: [3, 64, 64, 64, 2], activation: kind, outputActivation: kind == .identity ? .tanh : .identity, rng: &rng)
            let graph = withoutGradients { mlp(Variable(x)).value }
            let fused = mlp.evaluate(x)
            XCTAssertEqual(fused.shape, [300, 2], kind.rawValue)
            let scale = graph.scalars.map { Swift.abs($0) }.max() ?? 1
            let diff = zip(graph.scalars, fused.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(diff, 1e-5 * Swift.max(scale, 1), kind.rawValue)
            XCTAssertEqual(mlp.evaluate(x, rowBlock: 7).scalars.count, 600)
            let odd = mlp.evaluate(x, rowBlock: 7).scalars
            XCTAssertLessThanOrEqual(zip(odd, fused.scalars).map { Swift.abs($0 - $1) }.max() ?? 0, 1e-5 * Swift.max(scale, 1), kind.rawValue)
        }
        var rng = RandomGenerator(seed: 13)
        let noBias = MLP(widths: [3, 5], rng: &rng)
        XCTAssertEqual(noBias.evaluate(Tensor(zeros: [0, 3])).shape, [0, 5])
    }

    func testELUAndSELUAgainstDoublePrecision() {
        // A dense grid over the negative side (where e^x − 1 is evaluated), tiny inputs near 0, and special values.
        var values: [Float] = stride(from: -30.0, through: 3.0, by: 0.0037).map { Float($0) }
        values += [-100, -88, -87.5, -1e-3, -1e-6, -1e-20, -Float.leastNonzeroMagnitude, 0, 1e-8, -.infinity, .infinity]
        for (scale, alpha) in [(Float(1), Float(1)), (Activation.seluScale, Activation.seluAlpha)] {
            let kind: ActivationKind = scale == 1 ? .elu : .selu
            var buffer = values
            buffer.withUnsafeMutableBufferPointer { kind.applyInPlace($0.baseAddress!, count: $0.count) }
            let graph = withoutGradients { (kind == .elu ? Variable(Tensor(shape: [values.count], scalars: values)).elu() : Variable(Tensor(shape: [values.count], scalars: values)).selu()).value.scalars }
            for (i, x) in values.enumerated() {
                let xd = Double(x)
                let reference = xd > 0 ? Double(scale) * xd : Double(scale) * Double(alpha) * Foundation.expm1(xd)
                XCTAssertEqual(Double(buffer[i]), reference, accuracy: 2e-7 * Swift.max(Swift.abs(reference), 1e-30) + 1e-45,
                               "\(kind.rawValue)(\(x))")
                XCTAssertEqual(buffer[i], graph[i], "in place and graph op agree at \(x)")
            }
            var nan: [Float] = [.nan]
            nan.withUnsafeMutableBufferPointer { kind.applyInPlace($0.baseAddress!, count: 1) }
            XCTAssertTrue(nan[0].isNaN)
        }
    }

    func testStateDictRoundTrip() throws {
        var rngA = RandomGenerator(seed: 8), rngB = RandomGenerator(seed: 9)
        let a = MLP(widths: [3, 5, 2], rng: &rngA), b = MLP(widths: [3, 5, 2], rng: &rngB)
        let x = Variable(testTensor([4, 3], seed: 10))
        XCTAssertNotEqual(a(x).value.scalars, b(x).value.scalars)
        try b.loadStateDict(a.stateDict())
        XCTAssertEqual(a(x).value.scalars, b(x).value.scalars)
        // Loaded values are copies: changing `a` afterwards leaves `b` alone.
        a.layers[0].weight.updateValue { $0[0] += 1 }
        XCTAssertNotEqual(a.layers[0].weight.value.scalars, b.layers[0].weight.value.scalars)

        let before = b.stateDict().map(\.tensor.scalars)
        var missing = a.stateDict(); missing.removeLast()
        XCTAssertThrowsError(try b.loadStateDict(missing))
        var wrongShape = a.stateDict()
        wrongShape[0] = (wrongShape[0].name, Tensor(zeros: [2, 2]))
        XCTAssertThrowsError(try b.loadStateDict(wrongShape)) { error in
            XCTAssertTrue("\(error)".contains("layers.0.weight"), "\(error)")
        }
        XCTAssertEqual(b.stateDict().map(\.tensor.scalars), before)     // nothing changed on error
    }

    func testLayerNormNormalisesAndHasCorrectGradients() {
        let norm = LayerNorm(6)
        let x = testTensor([4, 6], seed: 11, maxMagnitude: 3)
        let y = norm(Variable(x)).value
        for r in 0..<4 {
            let row = Array(y.scalars[(r * 6)..<(r * 6 + 6)])
            let mean = row.reduce(0, +) / 6
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 6
            XCTAssertEqual(mean, 0, accuracy: 1e-5)
            XCTAssertEqual(variance, 1, accuracy: 1e-3)   // biased variance, ε = 1e-5
        }
        XCTAssertEqual(norm.namedParameters().map(\.name), ["weight", "bias"])
        assertGradientsMatchFiniteDifferences([x], "LayerNorm input") { norm($0[0]) }
        norm.gamma.assign(testTensor([6], seed: 12))
        norm.beta.assign(testTensor([6], seed: 13))
        assertGradientsMatchFiniteDifferences([x], "LayerNorm input, affine") { norm($0[0]) }
        assertParameterGradientsMatchFiniteDifferences(norm.parameters, "LayerNorm γ, β") { norm(Variable(x)) }
    }

    func testDropoutScalingAndRate() {
        let dropout = Dropout(probability: 0.25)
        var rng = RandomGenerator(seed: 14)
        let x = Variable(Tensor(shape: [20_000], repeating: 1), requiresGrad: true)
        XCTAssertTrue(dropout(x, training: false, rng: &rng) === x)
        let y = dropout(x, training: true, rng: &rng)
        let values = y.value.scalars
        XCTAssertTrue(values.allSatisfy { $0 == 0 || Swift.abs($0 - 4.0 / 3) < 1e-6 })
        let dropped = Double(values.filter { $0 == 0 }.count) / 20_000
        XCTAssertEqual(dropped, 0.25, accuracy: 0.016)          // se 3.1e-3
        XCTAssertEqual(Double(values.reduce(0, +)) / 20_000, 1, accuracy: 0.02)
        y.sum().backward()
        XCTAssertEqual(x.grad!.scalars, values)                  // gradient = mask / (1 − p)
        XCTAssertTrue(Dropout(probability: 0)(x, training: true, rng: &rng) === x)
    }

    func testEmbedding() {
        var rng = RandomGenerator(seed: 15)
        let table = Embedding(100, 64, rng: &rng)
        XCTAssertEqual(table.weight.shape, [100, 64]); XCTAssertEqual(table.count, 100); XCTAssertEqual(table.dimension, 64)
        XCTAssertEqual(table.namedParameters().map(\.name), ["weight"])
        // N(0, 1) like torch.nn.Embedding (6 400 draws: se 0.0125 for the mean, 0.0088 for the std).
        let w = table.weight.value.scalars
        let mean = w.reduce(0.0) { $0 + Double($1) } / Double(w.count)
        let std = (w.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(w.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.06); XCTAssertEqual(std, 1, accuracy: 0.045)

        let out = table([7, 0, 7])
        XCTAssertEqual(out.shape, [3, 64])
        XCTAssertEqual(Array(out.value.scalars[0..<64]), Array(w[(7 * 64)..<(8 * 64)]))
        XCTAssertEqual(Array(out.value.scalars[64..<128]), Array(w[0..<64]))
        out.sum().backward()
        let g = table.weight.grad!.scalars
        XCTAssertEqual(g[7 * 64], 2); XCTAssertEqual(g[0], 1); XCTAssertEqual(g[64], 0)   // repeated rows accumulate

        let small = Embedding(5, 3, rng: &rng)
        assertParameterGradientsMatchFiniteDifferences(small.parameters, "Embedding") { small([4, 1, 4, 0]).tanh() }
    }
}
