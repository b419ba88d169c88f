import FlowTensor
import FlowAutodiff
import FlowNN
import FlowOptim
#if canImport(Glibc)
import Glibc
#endif

/// Link-prediction models.
public enum LinkModelKind: String, Sendable, CaseIterable {
    /// Heuristics on the message-passing graph (no training).
    case cn, aa, ra
    /// Graph auto-encoder (Kipf & Welling 2016): GCN encoder, dot-product decoder.
    case gae
    /// Neural common neighbours (Wang et al. 2023): lin(β·xcnlin(Σ_{w∈N(u)∩N(v)} x'_w) + xijlin(h_u ⊙ h_v)).
    case ncn
    /// NCN with soft common-neighbour completion (Wang et al. 2023): candidates u ∈ N(i)∖N(j) and N(j)∖N(i)
    /// join the sum weighted by the recalibrated no-gradient NCN probability of the missing link.
    case ncnc
    /// Neural Bellman–Ford network (Zhu et al. 2021; `NBFNet`, trained by `NBFNetTrainer`): no node features.
    case nbfnet

    /// True for the feature-based models trained here (GAE, NCN, NCNC); NBFNet has its own trainer.
    public var isLearned: Bool { self == .gae || self == .ncn || self == .ncnc }
    /// True for the NCN family (NCN encoder and score head).
    public var isNCNFamily: Bool { self == .ncn || self == .ncnc }
    var heuristic: LinkHeuristic? {
        switch self {
        case .cn: return .commonNeighbors
        case .aa: return .adamicAdar
        case .ra: return .resourceAllocation
        default: return nil
        }
    }
}

/// How `LinkPredictor.fit(splitSeed:)` splits the graph and selects the epoch.
public enum LinkSplitProtocol: String, Sendable, CaseIterable {
    /// The NCN protocol (`LinkSplit.ncn`): 70/10/20, model selection by validation Hits@K.
    case ncn
    /// NBFNet's homogeneous-graph protocol (`LinkSplit.random`): 85/5/10, model selection by validation AUROC.
    case random
}

/// One run of a split protocol: the test metrics at the epoch with the best validation Hits@K (NCN protocol)
/// or validation AUROC (85/5/10).
public struct LinkRunResult: Sendable {
    public var seed: UInt64
    /// 1-based epoch whose validation selection metric was best (0 for heuristics).
    public var bestEpoch: Int
    public var validationHits: Double
    /// Validation AUROC at that epoch.
    public var validationAUROC = 0.0
    public var testHits: Double
    public var testMRR: Double
    public var testAUROC: Double
    /// Mean wall-clock seconds per training epoch (0 for heuristics).
    public var epochSeconds: Double
    /// Test average precision at that epoch.
    public var testAP: Double = 0
    /// The validation selection metric (Hits@K, or AUROC under `.random`) after each epoch (epoch 1 first;
    /// empty for heuristics).
    public var validationHistory: [Double] = []
}

/// Trains and evaluates a link predictor under the NCN protocol (`LinkSplit.ncn`; or NBFNet's 85/5/10, `splitProtocol`): message passing on the
/// training edges, per-epoch uniform training negatives, BCE loss, model selection by validation Hits@K.
///
/// NCN/NCNC follow the authors' code and Cora command (GraphPKU/NeuralCommonNeighbor, `NeighborOverlap.py
/// --xdp 0.7 --tdp 0.3 --gnndp 0.05 --predp 0.05 --preedp 0.4 --gnnlr 0.0043 --prelr 0.0024 --batch_size 1152
/// --ln --lnnn --model puregcn --hiddim 256 --mplayers 1 --maskinput --jk --use_xlin --tailact --probscale 4.3
/// --proboffset 2.8 --alpha 1.0 --pt 0.75`): see `NCNEncoder` and `NCNHead`. Per epoch one uniform negative per
/// training positive; batches of a random permutation, an incomplete last batch is skipped; each batch removes its
/// positives from the graph (target-link removal) for both the encoder and the common neighbours; loss
/// −mean log σ(s⁺) − mean log σ(−s⁻); Adam with the encoder and the head at their own learning rates.
public final class LinkPredictor {
    public struct Configuration: Sendable {
        public var model: LinkModelKind = .cn
        /// Embedding width of GAE/NCN.
        public var hidden = 256
        /// GAE: width of the last encoder layer (0 = `hidden`), e.g. 64 for a 1433 → 128 → 64 encoder.
        public var outputWidth = 0
        /// Graph layers of the encoder (GAE: GCN layers, default 2; NCN: propagation steps, default 1).
        public var layers = 2
        /// Adam step size (NCN: of the encoder).
        public var learningRate: Float = 0.01
        /// GAE: dropout between encoder layers. NCN: the encoder's tail dropout (`tdp`, 0.3).
        public var dropout: Float = 0.3
        /// Dropout on the input features (stored entries of sparse features); NCN's Cora setting uses 0.7.
        public var inputDropout: Float = 0
        public var epochs = 100
        /// Training positives per step (0 = all).
        public var batchSize = 1152
        /// Initialisation, batching and negative-sampling seed (the split has its own seed).
        public var seed: UInt64 = 0
        /// K of the model-selection and reported Hits@K.
        public var hitsK = 100
        /// NCN: remove each batch's positive edges from the message-passing graph while training on them.
        public var targetLinkRemoval = true
        /// NCN: probability of dropping each adjacency entry before common neighbours are taken while training
        /// (the authors' `preedp`, 0.4 on Cora); 0 for other models.
        public var predictorEdgeDropout: Float = 0
        /// NCN: the predictor's learning rate relative to the encoder's (NCN's Cora setting 0.0024 / 0.0043).
        public var predictorLearningRateScale: Float = 1
        /// NCN: dropout after the input linear map (`gnndp`, 0.05).
        public var hiddenDropout: Float = 0
        /// NCN: dropout inside the score head (`predp`, 0.05).
        public var predictorDropout: Float = 0
        /// NCNC: at most this many completion candidates per pair and side while training / evaluating
        /// (`trndeg`/`tstdeg`; 0 = all, as in the authors' Planetoid commands).
        public var trainCandidateDegree = 0, testCandidateDegree = 0
        /// The split and the model-selection metric of `fit(splitSeed:)`.
        public var splitProtocol: LinkSplitProtocol = .ncn
        /// NCNC recalibration of the inner probability: p̃ = α·pt·σ(s(p−o)) / (pt·σ(s(p−o)) + 1 − σ(s(p−o)))
        /// (Cora: s 4.3, o 2.8, α 1, pt 0.75).
        public var completionScale: Float = 4.3, completionOffset: Float = 2.8
        public var completionAlpha: Float = 1, completionPrior: Float = 0.75
        public init() {}
        public init(model: LinkModelKind) {
            self.model = model
            if model.isNCNFamily {
                layers = 1; inputDropout = 0.7; learningRate = 0.0043; dropout = 0.3
                hiddenDropout = 0.05; predictorDropout = 0.05
                predictorEdgeDropout = 0.4; predictorLearningRateScale = 0.0024 / 0.0043
            }
            if model == .nbfnet {   // NBFNet's Cora recipe: 6 layers of 32, Adam 5e-3, 20 epochs
                hidden = 32; layers = 6; learningRate = 5e-3; batchSize = 64; epochs = 20
            }
        }
    }

    public let configuration: Configuration
    public let graph: Graph
    let input: NodeInput?
    var encoder: GNNEncoder?
    var ncnEncoder: NCNEncoder?
    var head: NCNHead?
    /// NBFNet's trainer (model `.nbfnet` only; see NBFNetLinkPredictor.swift).
    var nbfnet: NBFNetTrainer?
    var rng: RandomGenerator
    /// The graph scores are computed on: the full graph before `fit`, the split's message-passing graph after.
    public internal(set) var scoringGraph: Graph
    var scoringOperator: CSRMatrix?
    /// The split of the last `fit`, if any.
    public private(set) var split: LinkSplit?

    /// - Throws: `GraphError.invalid` when a learned model is asked for on a graph without features, or a
    ///   setting is out of range.
    public init(graph: Graph, configuration: Configuration) throws {
        let c = configuration
        let probabilities = [c.dropout, c.inputDropout, c.hiddenDropout, c.predictorDropout, c.predictorEdgeDropout]
        guard c.hidden >= 1, c.hidden <= 1 << 16, c.layers >= 1, c.layers <= 16, c.epochs >= 0, c.batchSize >= 0,
              c.hitsK >= 1, probabilities.allSatisfy({ $0 >= 0 && $0 < 1 }), c.learningRate.isFinite, c.learningRate > 0,
              c.predictorLearningRateScale.isFinite, c.predictorLearningRateScale > 0,
              c.trainCandidateDegree >= 0, c.testCandidateDegree >= 0, c.outputWidth >= 0, c.outputWidth <= 1 << 16,
              [c.completionScale, c.completionOffset, c.completionAlpha, c.completionPrior].allSatisfy(\.isFinite),
              c.completionPrior > 0, c.completionPrior <= 1, c.completionAlpha >= 0 else {
            throw GraphError.invalid("hidden in 1…65536, layers in 1…16, epochs ≥ 0, batch ≥ 0, K ≥ 1, dropouts in [0, 1), learning rates > 0, candidate degrees ≥ 0, finite completion settings with pt in (0, 1] and α ≥ 0 are required")
        }
        self.configuration = c
        self.graph = graph
        self.scoringGraph = graph
        rng = RandomGenerator(seed: c.seed)
        if c.model.isLearned {
            guard let input = nodeInput(for: graph, rowNormalize: false) else {
                throw GraphError.invalid("model \(c.model.rawValue) needs node features")
            }
            self.input = input
        } else {
            self.input = nil
        }
        if c.model == .nbfnet { nbfnet = try NBFNetTrainer(graph: graph, configuration: nbfnetConfiguration) }
        resetModel()
    }

    func resetModel() {
        guard configuration.model.isLearned else { return }
        var init_ = RandomGenerator(seed: configuration.seed ^ 0x9E37_79B9)
        var widths = [graph.featureCount] + [Int](repeating: configuration.hidden, count: configuration.layers)
        if configuration.outputWidth > 0 { widths[widths.count - 1] = configuration.outputWidth }
        if configuration.model.isNCNFamily {
            encoder = nil
            ncnEncoder = NCNEncoder(inFeatures: graph.featureCount, hidden: configuration.hidden,
                                    propagations: configuration.layers, rng: &init_)
            head = NCNHead(hidden: configuration.hidden, rng: &init_)
        } else {
            encoder = GNNEncoder(kind: .gcn, widths: widths, dropout: configuration.dropout,
                                 inputDropout: configuration.inputDropout, rng: &init_)
            ncnEncoder = nil
            head = nil
        }
        scoringOperator = nil
    }

    var modules: [Module] { [encoder as Module?, ncnEncoder as Module?, head as Module?].compactMap { $0 } }

    /// Node embeddings on `op`.
    func embed(_ op: CSRMatrix, training: Bool) -> Variable {
        if let ncnEncoder {
            let c = configuration
            return ncnEncoder(input!, operator: op, inputDropout: c.inputDropout, hiddenDropout: c.hiddenDropout,
                              tailDropout: c.dropout, training: training, rng: &rng)
        }
        return encoder!(input!, operator: op, training: training, rng: &rng)
    }

    /// Logits of `pairs` from embeddings `h` [n, hidden] with common neighbours taken in `adjacency`.
    func decode(_ h: Variable, _ pairs: NodePairs, adjacency: CSRMatrix, training: Bool = false) -> Variable {
        guard let head else {
            return (h.indexSelect(axis: 0, indices: pairs.sources) * h.indexSelect(axis: 0, indices: pairs.targets)).sum(axis: 1)
        }
        let c = configuration
        let settings = NCNHeadSettings(dropout: c.predictorDropout, edgeDropout: c.predictorEdgeDropout, training: training,
                                       depth: c.model == .ncnc ? 1 : 0,
                                       candidateDegree: training ? c.trainCandidateDegree : c.testCandidateDegree,
                                       scale: c.completionScale, offset: c.completionOffset, alpha: c.completionAlpha,
                                       prior: c.completionPrior)
        return head(h, pairs, adjacency: adjacency, settings: settings, rng: &rng)
    }

    /// Scores (logits for learned models, heuristic values otherwise) of `pairs` on `scoringGraph`.
    /// Node ids must be in range (precondition; the C layer validates).
    public func scores(_ pairs: NodePairs) -> [Float] {
        if let nbfnet { return nbfnet.scores(pairs) }
        if let h = configuration.model.heuristic { return h.scores(pairs, on: scoringGraph) }
        if scoringOperator == nil { scoringOperator = scoringGraph.gcnNormalizedAdjacency() }
        return withoutGradients {
            decode(embed(scoringOperator!, training: false), pairs, adjacency: scoringGraph.adjacency).value.scalars
        }
    }

    /// Mean wall-clock seconds of one full-graph forward pass of the encoder on the scoring graph (no
    /// gradients), over `repeats` passes after one warm-up; 0 for heuristics.
    public func inferenceSeconds(repeats: Int = 10) -> Double {
        guard configuration.model.isLearned, repeats > 0 else { return 0 }
        if scoringOperator == nil { scoringOperator = scoringGraph.gcnNormalizedAdjacency() }
        return withoutGradients {
            _ = embed(scoringOperator!, training: false)
            let start = monotonicSeconds()
            for _ in 0..<repeats { _ = embed(scoringOperator!, training: false) }
            return (monotonicSeconds() - start) / Double(repeats)
        }
    }

    /// Hits@K (strict), MRR, AUROC and average precision of positives against negatives with the current model.
    public func evaluate(positives: NodePairs, negatives: NodePairs, k: Int) throws
        -> (hits: Double, mrr: Double, auroc: Double, ap: Double) {
        let p = scores(positives), n = scores(negatives)
        return (try LinkMetrics.hitsAtK(positive: p, negative: n, k: k),
                try LinkMetrics.meanReciprocalRank(positive: p, negative: n),
                try LinkMetrics.auroc(positive: p, negative: n),
                try LinkMetrics.averagePrecision(positive: p, negative: n))
    }

    /// One run of the protocol on the split seeded by `splitSeed`; learned models are re-initialised from the
    /// configuration's seed, trained `epochs` epochs and left at their best-validation state.
    /// `progress(epoch, total, loss)` returning false stops with `GraphError.cancelled`.
    public func fit(splitSeed: UInt64, progress: ((Int, Int, Float) -> Bool)? = nil) throws -> LinkRunResult {
        let split = configuration.splitProtocol == .ncn ? try LinkSplit.ncn(graph: graph, seed: splitSeed)
            : try LinkSplit.random(graph: graph, validationFraction: 0.05, testFraction: 0.1, seed: splitSeed)
        let k = configuration.hitsK
        let byAUROC = configuration.splitProtocol == .random
        guard k <= split.validationNegatives.count, k <= split.testNegatives.count else {
            throw GraphError.invalid("K = \(k) is larger than the number of negatives (\(split.testNegatives.count))")
        }
        self.split = split
        scoringGraph = split.messagePassingGraph
        if let nbfnet { return try fitNBFNet(nbfnet, split: split, splitSeed: splitSeed, progress: progress) }
        resetModel()
        rng = RandomGenerator(seed: configuration.seed)
        var result = LinkRunResult(seed: splitSeed, bestEpoch: 0, validationHits: 0, testHits: 0, testMRR: 0,
                                   testAUROC: 0, epochSeconds: 0)
        func record(epoch: Int) throws -> Bool {
            let v = try evaluate(positives: split.validationPositives, negatives: split.validationNegatives, k: k)
            let metric = byAUROC ? v.auroc : v.hits
            if epoch > 0 { result.validationHistory.append(metric) }
            guard epoch == 0 || metric > (byAUROC ? result.validationAUROC : result.validationHits) || result.bestEpoch == 0 else { return false }
            let t = try evaluate(positives: split.testPositives, negatives: split.testNegatives, k: k)
            result.bestEpoch = epoch; result.validationHits = v.hits; result.validationAUROC = v.auroc
            result.testHits = t.hits; result.testMRR = t.mrr; result.testAUROC = t.auroc; result.testAP = t.ap
            return true
        }
        guard configuration.model.isLearned else {
            _ = try record(epoch: 0)
            if let progress, !progress(1, 1, 0) { throw GraphError.cancelled("stopped by the progress callback") }
            return result
        }
        let encoderParameters = (encoder?.parameters ?? []) + (ncnEncoder?.parameters ?? [])
        let optimizer = Adam(groups: [
            ParameterGroup(parameters: encoderParameters, learningRate: configuration.learningRate),
            ParameterGroup(parameters: head?.parameters ?? [],
                           learningRate: configuration.learningRate * configuration.predictorLearningRateScale),
        ].filter { !$0.parameters.isEmpty })
        let mp = split.messagePassingGraph
        let fullOperator = mp.gcnNormalizedAdjacency()
        let positives = split.supervisionEdges
        let batch = configuration.batchSize == 0 ? positives.count : Swift.min(configuration.batchSize, positives.count)
        var best: [[(name: String, tensor: Tensor)]] = modules.map { $0.stateDict() }
        var seconds = 0.0
        for epoch in 1...Swift.max(configuration.epochs, 1) where configuration.epochs > 0 {
            let start = monotonicSeconds()
            let order = rng.permutation(positives.count)
            var lossSum: Float = 0, steps = 0
            var offset = 0
            // NCN skips an incomplete last batch (the authors' PermIterator); GAE trains on every positive.
            let ncn = configuration.model.isNCNFamily
            let stop = ncn && order.count > batch ? order.count - order.count % batch : order.count
            while offset < stop {
                let ids = order[offset..<Swift.min(offset + batch, order.count)]
                offset += batch
                let pos = NodePairs(sources: ids.map { positives.sources[$0] }, targets: ids.map { positives.targets[$0] })
                var structure = mp, op = fullOperator
                if ncn && configuration.targetLinkRemoval {
                    structure = try mp.removingEdges(pos)
                    op = structure.gcnNormalizedAdjacency()
                }
                let neg = sampleTrainingNegatives(of: mp, count: pos.count, rng: &rng)
                let h = embed(op, training: true)
                let loss: Variable
                if ncn {
                    let ones = Tensor(shape: [pos.count], repeating: 1), zeros = Tensor(zeros: [neg.count])
                    let posLogits = decode(h, pos, adjacency: structure.adjacency, training: true)
                    let negLogits = decode(h, neg, adjacency: structure.adjacency, training: true)
                    loss = binaryCrossEntropyWithLogits(logits: posLogits, targets: ones)
                        + binaryCrossEntropyWithLogits(logits: negLogits, targets: zeros)
                } else {
                    let pairs = NodePairs(sources: pos.sources + neg.sources, targets: pos.targets + neg.targets)
                    let logits = decode(h, pairs, adjacency: structure.adjacency, training: true)
                    var targets = Tensor(zeros: [pairs.count])
                    targets.withUnsafeMutableBufferPointer { p in for i in 0..<pos.count { p[i] = 1 } }
                    loss = binaryCrossEntropyWithLogits(logits: logits, targets: targets)
                }
                let value = loss.value.scalar
                guard value.isFinite else { throw GraphError.numerical("the loss became \(value) at epoch \(epoch)") }
                loss.backward()
                optimizer.step()
                optimizer.clearGradients()
                lossSum += value; steps += 1
            }
            seconds += monotonicSeconds() - start
            scoringOperator = fullOperator
            if try record(epoch: epoch) { best = modules.map { $0.stateDict() } }
            if let progress, !progress(epoch, configuration.epochs, lossSum / Float(Swift.max(steps, 1))) {
                throw GraphError.cancelled("stopped by the progress callback at epoch \(epoch)")
            }
        }
        for (module, state) in zip(modules, best) { try module.loadStateDict(state) }
        scoringOperator = fullOperator
        result.epochSeconds = seconds / Double(Swift.max(configuration.epochs, 1))
        return result
    }
}

/// Monotonic wall-clock seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
