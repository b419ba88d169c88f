import XCTest
import FlowGen
import _FlowGenTestSupport

/// Hand-computed goldens (values and gradients) and finite-difference checks for every loss.
final class LossTests: XCTestCase {
    let predicted = Tensor(shape: [2, 2], scalars: [0.5, -1, 2, 0])
    let expected = Tensor(shape: [2, 2], scalars: [1, -1, 0, 0.5])   // differences −0.5, 0, 2, −0.5

    func testMeanSquaredErrorGolden() {
        let p = Variable(predicted, requiresGrad: true)
        let loss = meanSquaredError(predicted: p, expected: expected)
        XCTAssertEqual(loss.shape, [])
        assertClose(loss.value, [1.125])                 // (0.25 + 0 + 4 + 0.25) / 4
        loss.backward()
        assertClose(p.grad!, [-0.25, 0, 1, -0.25])       // 2d / n
    }

    func testHuberGolden() {
        let p = Variable(predicted, requiresGrad: true)
        let loss = huberLoss(predicted: p, expected: expected)
        assertClose(loss.value, [0.4375])                // (0.125 + 0 + 1·(2 − 0.5) + 0.125) / 4
        loss.backward()
        assertClose(p.grad!, [-0.125, 0, 0.25, -0.125])  // clip(d, ±1) / n
        let half = huberLoss(predicted: Variable(predicted), expected: expected, delta: 0.5)
        assertClose(half.value, [0.28125])               // (0.125 + 0 + 0.5·(2 − 0.25) + 0.125) / 4
    }

    func testBinaryCrossEntropyWithLogitsGolden() {
        let z = Variable(Tensor(shape: [4], scalars: [0, 2, -1, 3]), requiresGrad: true)
        let y = Tensor(shape: [4], scalars: [1, 0, 0, 1])
        let loss = binaryCrossEntropyWithLogits(logits: z, targets: y)
        // (ln 2 + ln(1 + e²) + ln(1 + e⁻¹) + ln(1 + e⁻³)) / 4
        assertClose(loss.value, [0.7954810577], tol: 1e-6)
        loss.backward()
        assertClose(z.grad!, [-0.125, 0.2201992695, 0.0672353553, -0.0118564683], tol: 1e-6)   // (σ(z) − y) / n
        // Extreme logits stay finite: −log σ(100) ≈ 0, −log(1 − σ(100)) = 100.
        let big = binaryCrossEntropyWithLogits(logits: Variable(Tensor(shape: [2], scalars: [100, -100])),
                                               targets: Tensor(shape: [2], scalars: [0, 0]))
        assertClose(big.value, [50], tol: 1e-6)
        // Soft targets.
        let soft = binaryCrossEntropyWithLogits(logits: Variable(Tensor(shape: [1], scalars: [0])),
                                                targets: Tensor(shape: [1], scalars: [0.3]))
        assertClose(soft.value, [0.6931471806], tol: 1e-6)
    }

    func testCrossEntropyGolden() {
        let logits = Variable(Tensor(shape: [3, 3], scalars: [1, 2, 3, 0, 0, 0, 2, -1, 0.5]), requiresGrad: true)
        let loss = crossEntropy(logits: logits, labels: [2, 1, 0])
        assertClose(loss.value, [0.5825098499], tol: 1e-6)
        loss.backward()
        // (softmax − onehot) / n
        assertClose(logits.grad!, [0.0300101911, 0.0815761570, -0.1115863481,
                                   0.1111111111, -0.2222222222, 0.1111111111,
                                   -0.0714676551, 0.0130375244, 0.0584301307], tol: 1e-6)
        // Uniform logits over k classes give ln k.
        assertClose(crossEntropy(logits: Variable(Tensor(zeros: [2, 5])), labels: [0, 4]).value, [1.6094379124], tol: 1e-6)
        // Large logits do not overflow.
        let big = crossEntropy(logits: Variable(Tensor(shape: [1, 2], scalars: [1000, 0])), labels: [1])
        assertClose(big.value, [1000], tol: 1e-6)
    }

    func testLossGradientsMatchFiniteDifferences() {
        let p = testTensor([3, 4], seed: 1)
        let target = testTensor([3, 4], seed: 2)
        assertGradientsMatchFiniteDifferences([p], "mse") { meanSquaredError(predicted: $0[0], expected: target) }
        // Differences kept ≥ 0.2 away from ±δ, where Huber switches branch.
        let d = Tensor(shape: [6], scalars: [-2.1, -0.7, -0.2, 0.3, 0.6, 1.7])
        assertGradientsMatchFiniteDifferences([d], "huber") { huberLoss(predicted: $0[0], expected: Tensor(zeros: [6])) }
        assertGradientsMatchFiniteDifferences([d], "huber δ=0.4") { huberLoss(predicted: $0[0], expected: Tensor(zeros: [6]), delta: 0.4) }
        let y = Tensor(shape: [3, 4], scalars: [1, 0, 0.3, 1, 0, 0, 1, 0.7, 1, 0, 1, 0])
        let z = testTensor([3, 4], seed: 3, maxMagnitude: 3)
        assertGradientsMatchFiniteDifferences([z], "bce") { binaryCrossEntropyWithLogits(logits: $0[0], targets: y) }
        assertGradientsMatchFiniteDifferences([z], "cross-entropy") { crossEntropy(logits: $0[0], labels: [3, 0, 2]) }
    }
}
