#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlowGen

/// `flowgen mlp demo`: the engine demo — fit a regression MLP and a classifier on generated data.
struct MLPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mlp", abstract: "General-purpose MLP.",
                                                    subcommands: [MLPDemo.self])
}

struct MLPDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train an MLP on y = sin(3a) + b² (regression) and on two interleaved spirals (classification).")
    @OptionGroup var common: CommonOptions
    @Option(help: "Optimizer steps per task.") var steps: Int = 2000
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Write an SVG of both training-loss curves.") var plot: String?

    func run() throws {
        var rng = RandomGenerator(seed: seed)
        // Regression: 512 points on [-1, 1]².
        let n = 512
        let x = rng.uniform([n, 2], low: -1, high: 1)
        let xs = x.scalars
        let y = Tensor(shape: [n, 1], scalars: (0..<n).map { sin(3 * xs[2 * $0]) + xs[2 * $0 + 1] * xs[2 * $0 + 1] })
        var config = SupervisedMLP.Configuration(widths: [2, 64, 64, 1])
        config.activation = .tanh; config.learningRate = 3e-3; config.seed = seed
        let regression = SupervisedMLP(config)
        let initialLoss = regression.evaluate(x: x, y: y).loss
        var bar = ProgressBar("regression", total: steps)
        let t0 = now()
        var regressionLosses: [Double] = [], classificationLosses: [Double] = []
        let finalLoss = try regression.fit(x: x, y: y, steps: steps) { s, _, loss in
            regressionLosses.append(Double(loss))
            bar.update(s, detail: "loss \(loss)"); return true
        }
        let regressionSeconds = now() - t0

        // Classification: two spirals, 2 × 256 points.
        let (sx, sy) = twoSpirals(perClass: 256, rng: &rng)
        var cconfig = SupervisedMLP.Configuration(widths: [2, 128, 128, 2])
        cconfig.task = .classification; cconfig.learningRate = 3e-3; cconfig.seed = seed
        let classifier = SupervisedMLP(cconfig)
        var cbar = ProgressBar("classification", total: steps)
        let t1 = now()
        try classifier.fit(x: sx, y: sy, steps: steps) { s, _, loss in
            classificationLosses.append(Double(loss))
            cbar.update(s, detail: "loss \(loss)"); return true
        }
        let classificationSeconds = now() - t1
        let (closs, accuracy) = classifier.evaluate(x: sx, y: sy)

        print("regression  y = sin(3a) + b²: MSE \(initialLoss) → \(finalLoss) after \(steps) Adam steps (\(format3("", regressionSeconds)) s)")
        print("two spirals: cross-entropy \(closs), training accuracy \(format3("", Double(accuracy) * 100))% (\(format3("", classificationSeconds)) s)")
        if let plot {
            try writeRunCurves(plot, title: "MLP demo: regression MSE \(significant3(Double(finalLoss))), two spirals accuracy \(format3("", Double(accuracy) * 100)) %",
                               panels: [CurvePanel(caption: "regression MSE per step", runs: [regressionLosses], logScale: true),
                                        CurvePanel(caption: "two-spirals cross-entropy per step", runs: [classificationLosses], logScale: true)],
                               xLabel: "steps")
        }
        if common.json {
            print(JSONValue.object([
                ("regression_initial_mse", .number(Double(initialLoss))), ("regression_final_mse", .number(Double(finalLoss))),
                ("classification_loss", .number(Double(closs))), ("classification_accuracy", .number(Double(accuracy))),
                ("regression_seconds", .number(regressionSeconds)), ("classification_seconds", .number(classificationSeconds)),
                ("steps", .number(Double(steps))),
            ]).serialized())
        }
    }
}

/// Two interleaved spirals with small Gaussian noise; labels 0/1.
func twoSpirals(perClass: Int, rng: inout RandomGenerator) -> (Tensor, Tensor) {
    var xs: [Float] = [], ys: [Float] = []
    for c in 0..<2 {
        for i in 0..<perClass {
            let t = Float(i) / Float(perClass) * 3 * Float.pi
            let r = t / (3 * Float.pi)
            let sign: Float = c == 0 ? 1 : -1
            xs.append(sign * r * cos(t) + 0.02 * rng.nextNormal())
            xs.append(sign * r * sin(t) + 0.02 * rng.nextNormal())
            ys.append(Float(c))
        }
    }
    return (Tensor(shape: [2 * perClass, 2], scalars: xs), Tensor(shape: [2 * perClass], scalars: ys))
}
