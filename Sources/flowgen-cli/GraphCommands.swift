#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlowGen

/// Resolves `--data` (default: the bundled compact Cora, `data/cora`).
func graphDataDirectory(_ given: String?) throws -> String {
    if let given { return given }
    guard let dir = GraphLoader.bundledCoraDirectory() else {
        throw ValidationError("the bundled data/cora was not found; pass --data DIR (or set FLOWGEN_DATA)")
    }
    return dir
}

func meanAndStd(_ xs: [Double]) -> (Double, Double) {
    guard !xs.isEmpty else { return (0, 0) }
    let m = xs.reduce(0, +) / Double(xs.count)
    let v = xs.count > 1 ? xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1) : 0
    return (m, v.squareRoot())
}

/// `flowgen linkpred`: the NCN link-prediction protocol (70/10/20 split per run r seeded by seed + r, message
/// passing on training edges, strict Hits@100 at the best-validation epoch), mean ± std over runs.
struct LinkPredCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linkpred",
        abstract: "Link prediction on a graph under the NCN protocol (HR@100 strict, MRR, AUROC, AP).")
    @OptionGroup var common: CommonOptions
    @Option(help: "Graph directory (planetoid or compact layout). Default: the bundled Cora.") var data: String?
    @Option(help: "Model: cn, aa, ra, gae, ncn, ncnc, nbfnet.") var model: String = "cn"
    @Option(help: "Number of runs (split seeds seed … seed+runs-1).") var runs: Int = 10
    @Option(help: "Training epochs per run (learned models).") var epochs: Int = 100
    @Option(help: "First split seed.") var seed: UInt64 = 0
    @Option(help: "Embedding width.") var hidden: Int = 256
    @Option(help: "GAE: width of the last encoder layer (0 = --hidden).") var outDim: Int = 0
    @Option(help: "Learning rate (default: the model's, GAE 0.01, NCN 0.0043).") var lr: Float?
    @Option(help: "Input feature dropout (default: the model's, GAE 0, NCN 0.7).") var inputDropout: Float?
    @Option(help: "Training positives per step (0 = all).") var batch: Int = 1152
    @Option(help: "Dropout: GAE between layers; NCN/NCNC the encoder's tail dropout (default 0.3).") var dropout: Float?
    @Option(help: "NCN/NCNC: dropout after the input linear map (authors' gnndp; default 0.05).") var hiddenDropout: Float?
    @Option(help: "NCN/NCNC: dropout in the score head (authors' predp; default 0.05).") var predictorDropout: Float?
    @Option(help: "NCN/NCNC: adjacency-entry dropout before common neighbours (authors' preedp; default 0.4).") var predictorEdgeDropout: Float?
    @Option(help: "NCN/NCNC: learning rate of the score head (authors' prelr; default 0.0024).") var predictorLr: Float?
    @Option(help: "NCNC recalibration s, o, α, pt (authors' probscale, proboffset, alpha, pt; default 4.3,2.8,1,0.75).") var completion: String?
    @Option(help: "NCNC: completion candidates per pair and side while training (0 = all).") var trainDegree: Int = 0
    @Option(help: "NCNC: completion candidates per pair and side while evaluating (0 = all).") var testDegree: Int = 0
    @Option(help: "Write the predictor of the last run to this safetensors file.") var save: String?
    @Option(help: "Write an SVG of every run's per-epoch training loss and validation metric.") var plot: String?
    @Option(help: "Split protocol: ncn (70/10/20, selection by validation HR@100) or random (NBFNet's 85/5/10, selection by validation AUROC).") var split: String = "ncn"
    @Option(help: "NBFNet: state width, layers, training positives per step, Bellman–Ford runs per pass.") var nbfDim: Int = 32
    @Option var nbfLayers: Int = 6
    @Option var nbfBatch: Int = 64
    @Option var nbfRunsPerPass: Int = 64
    @Flag(help: "NBFNet: score from the source's run only (default: both ends averaged, the authors' symmetric).") var nbfOneSided = false
    @Flag(help: "NBFNet: negatives (u, random v′) instead of the authors' random strict non-edges.") var nbfTailNegatives = false
    @Flag(help: "NBFNet: no self loops in the propagation graph.") var nbfNoSelfLoops = false
    @Option(help: "NBFNet: relations per edge, 1 (authors') or 2 (separate inverse relation).") var nbfRelations: Int = 1

    func run() throws {
        if model.lowercased() == "nbfnet" {
            return try runNBFNetLinkPrediction(common: common, data: data, runs: runs, epochs: epochs, seed: seed, split: split,
                                               dimension: nbfDim, layers: nbfLayers, batch: nbfBatch, lr: lr, plot: plot,
                                               tune: { c in
                                                   c.runsPerPass = nbfRunsPerPass; c.symmetric = !nbfOneSided
                                                   c.randomPairNegatives = !nbfTailNegatives; c.selfLoops = !nbfNoSelfLoops
                                                   c.relations = nbfRelations
                                               })
        }
        guard let kind = LinkModelKind(rawValue: model.lowercased()) else {
            throw ValidationError("--model must be one of cn, aa, ra, gae, ncn, ncnc, nbfnet")
        }
        guard runs >= 1, epochs >= 0 else { throw ValidationError("--runs must be ≥ 1 and --epochs ≥ 0") }
        let graph = try GraphLoader.load(directory: try graphDataDirectory(data))
        var config = LinkPredictor.Configuration(model: kind)
        guard let splitProtocol = LinkSplitProtocol(rawValue: split.lowercased()) else { throw ValidationError("--split must be ncn or random") }
        config.splitProtocol = splitProtocol
        config.epochs = epochs; config.hidden = hidden; config.batchSize = batch; config.outputWidth = outDim
        if let lr { config.learningRate = lr }
        if let inputDropout { config.inputDropout = inputDropout }
        if let dropout { config.dropout = dropout }
        if let hiddenDropout { config.hiddenDropout = hiddenDropout }
        if let predictorDropout { config.predictorDropout = predictorDropout }
        if let predictorEdgeDropout { config.predictorEdgeDropout = predictorEdgeDropout }
        if let predictorLr { config.predictorLearningRateScale = predictorLr / config.learningRate }
        if let completion {
            let v = completion.split(separator: ",").compactMap { Float(String($0.filter { $0 != " " })) }
            guard v.count == 4 else { throw ValidationError("--completion takes four numbers s,o,alpha,pt") }
            config.completionScale = v[0]; config.completionOffset = v[1]; config.completionAlpha = v[2]; config.completionPrior = v[3]
        }
        guard trainDegree >= 0, testDegree >= 0 else { throw ValidationError("--train-degree and --test-degree must be ≥ 0") }
        config.trainCandidateDegree = trainDegree; config.testCandidateDegree = testDegree
        var results: [LinkRunResult] = []
        var losses: [[Double]] = []
        var inferenceSeconds = 0.0
        var bar = ProgressBar("linkpred \(kind.rawValue)", total: runs * Swift.max(kind.isLearned ? epochs : 1, 1))
        for r in 0..<runs {
            config.seed = seed &+ UInt64(r)
            let predictor = try LinkPredictor(graph: graph, configuration: config)
            let done = r * Swift.max(kind.isLearned ? epochs : 1, 1)
            losses.append([])
            let result = try predictor.fit(splitSeed: seed &+ UInt64(r)) { e, _, loss in
                if kind.isLearned { losses[r].append(Double(loss)) }
                bar.update(done + e, detail: "run \(r + 1)/\(runs) loss \(format3("", Double(loss)))"); return true
            }
            results.append(result)
            if let save, r == runs - 1 { try predictor.save(to: save) }
            if r == runs - 1 { inferenceSeconds = predictor.inferenceSeconds() }
            if !common.json || isatty(2) == 0 {
                let validation = splitProtocol == .ncn ? "val HR@100 \(format3("", result.validationHits * 100))" : "val AUROC \(format3("", result.validationAUROC))"
                fputs("run \(r): test HR@100 \(format3("", result.testHits * 100)), AUROC \(format3("", result.testAUROC)) (best epoch \(result.bestEpoch), \(validation))\n", stderr)
            }
        }
        let (hm, hs) = meanAndStd(results.map { $0.testHits * 100 })
        let (mrr, _) = meanAndStd(results.map(\.testMRR))
        let (auroc, _) = meanAndStd(results.map(\.testAUROC))
        let (ap, _) = meanAndStd(results.map(\.testAP))
        let (epochSeconds, _) = meanAndStd(results.map(\.epochSeconds))
        if let plot {
            guard kind.isLearned, epochs > 0 else { throw ValidationError("--plot needs a trained model (gae, ncn, ncnc, nbfnet) and --epochs ≥ 1") }
            try writeRunCurves(plot, title: "\(kind.rawValue) link prediction, \(runs) runs: test HR@100 \(format3("", hm)) ± \(format3("", hs))",
                               panels: [CurvePanel(caption: "training loss", runs: losses, logScale: true),
                                        splitProtocol == .ncn
                                            ? CurvePanel(caption: "validation HR@\(config.hitsK) (%)", runs: results.map { $0.validationHistory.map { $0 * 100 } })
                                            : CurvePanel(caption: "validation AUROC", runs: results.map(\.validationHistory))])
        }
        print("\(kind.rawValue) on \(graph.nodeCount) nodes / \(graph.edgeCount) edges, \(runs) runs: test HR@100 \(format3("", hm)) ± \(format3("", hs)), MRR \(format3("", mrr)), AUROC \(format3("", auroc)), AP \(format3("", ap)), \(format3("", epochSeconds)) s/epoch")
        if common.json {
            print(JSONValue.object([
                ("model", .string(kind.rawValue)), ("hr100_mean", .number(hm)), ("hr100_std", .number(hs)),
                ("mrr", .number(mrr)), ("auroc", .number(auroc)), ("ap", .number(ap)), ("epoch_seconds", .number(epochSeconds)),
                ("inference_seconds", .number(inferenceSeconds)), ("runs", .number(Double(runs))), ("epochs", .number(Double(kind.isLearned ? epochs : 0))),
                ("hr100_per_run", .array(results.map { .number($0.testHits * 100) })), ("split", .string(splitProtocol.rawValue)),
            ]).serialized())
        }
    }
}

/// `flowgen nodeclass`: semi-supervised node classification on the public split (Kipf & Welling setting).
struct NodeClassCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodeclass",
        abstract: "Node classification (GCN/SAGE/GIN/GAT, 2 layers) on the public split; test accuracy over runs.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Graph directory (planetoid or compact layout). Default: the bundled Cora.") var data: String?
    @Option(help: "Model: gcn, sage, gin, gat.") var model: String = "gcn"
    @Option(help: "Number of runs (seeds seed … seed+runs-1).") var runs: Int = 10
    @Option(help: "Training epochs.") var epochs: Int = 200
    @Option(help: "First seed.") var seed: UInt64 = 0
    @Option(help: "Hidden width (per head for GAT; default: the model's, 16, GAT 8).") var hidden: Int?
    @Option(help: "Graph layers.") var layers: Int = 2
    @Option(help: "GAT: attention heads of the hidden layers.") var heads: Int = 8
    @Flag(help: "MPNN + virtual node (Cai et al. 2023) between layers.") var virtualNode = false
    @Option(help: "Jumping knowledge: none, last, concat, max.") var jk: String = "none"
    @Option(help: "Write an SVG of every run's per-epoch training loss and validation accuracy.") var plot: String?

    func run() throws {
        guard let kind = GNNKind(rawValue: model.lowercased()) else { throw ValidationError("--model must be gcn, sage, gin or gat") }
        let jkMode: JumpingKnowledge?
        if jk.lowercased() == "none" { jkMode = nil } else {
            guard let mode = JumpingKnowledge(rawValue: jk.lowercased()) else { throw ValidationError("--jk must be none, last, concat or max") }
            jkMode = mode
        }
        guard layers >= 1, heads >= 1, (hidden ?? 1) >= 1 else { throw ValidationError("--layers, --heads and --hidden must be ≥ 1") }
        guard runs >= 1, epochs >= 1 else { throw ValidationError("--runs and --epochs must be ≥ 1") }
        let graph = try GraphLoader.load(directory: try graphDataDirectory(data))
        var accuracies: [Double] = [], seconds: [Double] = [], losses: [[Double]] = [], validation: [[Double]] = []
        var bar = ProgressBar("nodeclass \(kind.rawValue)", total: runs * epochs)
        for r in 0..<runs {
            var config = NodeClassifier.Configuration(kind: kind)
            config.epochs = epochs; config.seed = seed &+ UInt64(r); config.layers = layers; config.heads = heads
            if let hidden { config.hidden = hidden }
            config.virtualNode = virtualNode; config.jumpingKnowledge = jkMode
            let classifier = try NodeClassifier(graph: graph, configuration: config)
            let t0 = now()
            let stats = try classifier.fit { e, _, loss in bar.update(r * epochs + e, detail: "run \(r + 1)/\(runs) loss \(format3("", Double(loss)))"); return true }
            losses.append(stats.map { Double($0.loss) }); validation.append(stats.map { Double($0.validationAccuracy) * 100 })
            seconds.append((now() - t0) / Double(epochs))
            accuracies.append(Double(classifier.accuracy(on: graph.testNodes)) * 100)
        }
        let (am, asd) = meanAndStd(accuracies)
        let (es, _) = meanAndStd(seconds)
        let variant = kind.rawValue + (virtualNode ? "+vn" : "") + (jkMode.map { "+jk-\($0.rawValue)" } ?? "")
        if let plot {
            try writeRunCurves(plot, title: "\(variant) node classification, \(runs) runs: test accuracy \(format3("", am)) ± \(format3("", asd)) %",
                               panels: [CurvePanel(caption: "training loss", runs: losses, logScale: true),
                                        CurvePanel(caption: "validation accuracy (%)", runs: validation)])
        }
        print("\(variant) on \(graph.nodeCount) nodes, \(runs) runs × \(epochs) epochs: test accuracy \(format3("", am)) ± \(format3("", asd)) %, \(format3("", es * 1000)) ms/epoch")
        if common.json {
            print(JSONValue.object([
                ("model", .string(variant)), ("acc_mean", .number(am)), ("acc_std", .number(asd)),
                ("epoch_seconds", .number(es)), ("runs", .number(Double(runs))), ("epochs", .number(Double(epochs))),
            ]).serialized())
        }
    }
}
