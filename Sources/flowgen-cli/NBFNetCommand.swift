#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlowGen

/// `flowgen linkpred --model nbfnet`: NBFNet runs r = 0…runs−1 on the split seeded by seed + r, either the NCN
/// protocol (`--split ncn`: 70/10/20, model selection by validation HR@100) or NBFNet's own (`--split random`:
/// 85/5/10, one negative per positive, selection by validation AUROC). Prints HR@100, MRR, AUROC, AP.
func runNBFNetLinkPrediction(common: CommonOptions, data: String?, runs: Int, epochs: Int, seed: UInt64,
                             split: String, dimension: Int, layers: Int, batch: Int, lr: Float?, plot: String? = nil,
                             tune: (inout NBFNetTrainer.Configuration) -> Void = { _ in }) throws {
    guard split == "ncn" || split == "random" else { throw ValidationError("--split must be ncn or random") }
    guard runs >= 1, epochs >= 1 else { throw ValidationError("--runs and --epochs must be ≥ 1") }
    let graph = try GraphLoader.load(directory: try graphDataDirectory(data))
    var config = NBFNetTrainer.Configuration()
    config.epochs = epochs; config.dimension = dimension; config.layers = layers; config.batchSize = batch
    config.selectByHits = split == "ncn"
    if let lr { config.learningRate = lr }
    tune(&config)
    var results: [NBFNetTrainer.Result] = []
    var bar = ProgressBar("linkpred nbfnet (\(split))", total: runs * epochs)
    for r in 0..<runs {
        config.seed = seed &+ UInt64(r)
        let s = split == "ncn" ? try LinkSplit.ncn(graph: graph, seed: seed &+ UInt64(r))
            : try LinkSplit.random(graph: graph, validationFraction: 0.05, testFraction: 0.1, seed: seed &+ UInt64(r))
        let trainer = try NBFNetTrainer(graph: graph, configuration: config)
        trainer.onEpoch = { e, loss, auroc, hits, best in
            guard isatty(2) == 0 else { return }
            fputs("run \(r) epoch \(e): loss \(format3("", Double(loss))), validation AUROC \(format3("", auroc)), HR@\(config.hitsK) \(format3("", hits * 100)); best so far epoch \(best.bestEpoch): test AUROC \(format3("", best.testAUROC)), AP \(format3("", best.testAveragePrecision)), HR@\(config.hitsK) \(format3("", best.testHits * 100)) (\(format3("", best.epochSeconds)) s/epoch)\n", stderr)
        }
        let result = try trainer.fit(split: s) { e, _, loss in
            bar.update(r * epochs + e, detail: "run \(r + 1)/\(runs) loss \(format3("", Double(loss)))")
            return true
        }
        results.append(result)
        if !common.json || isatty(2) == 0 {
            fputs("run \(r): test HR@100 \(format3("", result.testHits * 100)), AUROC \(format3("", result.testAUROC)), AP \(format3("", result.testAveragePrecision)) (best epoch \(result.bestEpoch), \(format3("", result.epochSeconds)) s/epoch)\n", stderr)
        }
    }
    let (hm, hs) = meanAndStd(results.map { $0.testHits * 100 })
    let (mrr, _) = meanAndStd(results.map(\.testMRR))
    let (auroc, aurocStd) = meanAndStd(results.map(\.testAUROC))
    let (ap, apStd) = meanAndStd(results.map(\.testAveragePrecision))
    let (epochSeconds, _) = meanAndStd(results.map(\.epochSeconds))
    if let plot {
        let selection = split == "ncn" ? "validation HR@100 (%)" : "validation AUROC"
        try writeRunCurves(plot, title: "NBFNet (\(split) split), \(runs) run\(runs == 1 ? "" : "s"): test AUROC \(format3("", auroc)), HR@100 \(format3("", hm))",
                           panels: [CurvePanel(caption: "training loss", runs: results.map(\.lossHistory), logScale: true),
                                    CurvePanel(caption: selection, runs: results.map { split == "ncn" ? $0.validationHitsHistory.map { $0 * 100 } : $0.validationAUROCHistory })])
    }
    print("nbfnet (\(split) split) on \(graph.nodeCount) nodes / \(graph.edgeCount) edges, \(runs) runs × \(epochs) epochs: test HR@100 \(format3("", hm)) ± \(format3("", hs)), MRR \(format3("", mrr)), AUROC \(format3("", auroc)) ± \(format3("", aurocStd)), AP \(format3("", ap)) ± \(format3("", apStd)), \(format3("", epochSeconds)) s/epoch")
    if common.json {
        print(JSONValue.object([
            ("model", .string("nbfnet")), ("split", .string(split)), ("hr100_mean", .number(hm)), ("hr100_std", .number(hs)),
            ("mrr", .number(mrr)), ("auroc", .number(auroc)), ("auroc_std", .number(aurocStd)), ("ap", .number(ap)),
            ("ap_std", .number(apStd)), ("epoch_seconds", .number(epochSeconds)), ("runs", .number(Double(runs))),
            ("epochs", .number(Double(epochs))), ("hr100_per_run", .array(results.map { .number($0.testHits * 100) })),
            ("auroc_per_run", .array(results.map { .number($0.testAUROC) })),
        ]).serialized())
    }
}
