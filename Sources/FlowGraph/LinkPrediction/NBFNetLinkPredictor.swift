/// `LinkPredictor` with model `.nbfnet`: the configuration maps to `NBFNetTrainer` (hidden = state width,
/// layers = NBF layers, batch = training positives per step, capped at 64) and `fit(splitSeed:)` runs the
/// configured split protocol (NCN: selection by validation Hits@K; 85/5/10: by validation AUROC).
extension LinkPredictor {
    /// The NBFNet settings implied by the configuration.
    var nbfnetConfiguration: NBFNetTrainer.Configuration {
        var c = NBFNetTrainer.Configuration()
        c.dimension = configuration.hidden
        c.layers = configuration.layers
        c.learningRate = configuration.learningRate
        c.batchSize = configuration.batchSize == 0 ? 64 : Swift.min(configuration.batchSize, 64)
        c.epochs = configuration.epochs
        c.seed = configuration.seed
        c.hitsK = configuration.hitsK
        c.removeTargetEdges = configuration.targetLinkRemoval
        c.selectByHits = configuration.splitProtocol == .ncn
        return c
    }

    func fitNBFNet(_ trainer: NBFNetTrainer, split: LinkSplit, splitSeed: UInt64,
                   progress: ((Int, Int, Float) -> Bool)?) throws -> LinkRunResult {
        let r = try trainer.fit(split: split, progress: progress)
        var result = LinkRunResult(seed: splitSeed, bestEpoch: r.bestEpoch, validationHits: r.validationHits, testHits: r.testHits,
                                   testMRR: r.testMRR, testAUROC: r.testAUROC, epochSeconds: r.epochSeconds)
        result.testAP = r.testAveragePrecision
        result.validationAUROC = r.validationAUROC
        result.validationHistory = configuration.splitProtocol == .ncn ? r.validationHitsHistory : r.validationAUROCHistory
        return result
    }
}
