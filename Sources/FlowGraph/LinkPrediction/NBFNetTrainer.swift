import FlowTensor
import FlowAutodiff
import FlowNN
import FlowOptim

/// Trains and evaluates `NBFNet` on a `LinkSplit` with the authors' Cora recipe (`config/homogeneous_graph/
/// cora.yaml` and `LinkPrediction` in DeepGraphLearning/NBFNet): each Adam step takes `batchSize` training
/// positives and one strict negative per positive — a random non-edge (u′, v′) with u′ drawn ∝ n − deg(u′) − 1
/// and v′ uniform among the non-neighbours of u′ (`randomPairNegatives`; otherwise (u, v′) with the positive's
/// u) — removes both directions of the batch's positive edges from the message-passing graph
/// (`remove_one_hop`), adds self loops (`selfLoops`), scores every pair from both ends (`symmetric`) and
/// minimises binary cross-entropy over positives and negatives. A step's pairs run in passes of at most
/// `runsPerPass` Bellman–Ford sources whose gradients are accumulated (same result as one pass, bounded memory).
/// After each epoch the model is scored on the validation pairs; the state with the best validation metric
/// (AUROC, or Hits@K when `selectByHits`) is kept and its test metrics are reported.
public final class NBFNetTrainer {
    public struct Configuration: Sendable {
        public var dimension = 32
        public var layers = 6
        public var learningRate: Float = 5e-3
        /// Training positives per Adam step.
        public var batchSize = 64
        /// Largest number of Bellman–Ford runs per forward/backward pass (memory bound; also the evaluation batch).
        public var runsPerPass = 64
        /// Relations per edge: 1 (authors' homogeneous setting) or 2 (a separate inverse relation).
        public var relations = 1
        /// Add self loops to the message-passing graph (the authors' `as_relational_graph`).
        public var selfLoops = true
        /// Average the features of the runs from both ends of a pair (`symmetric: yes`).
        public var symmetric = true
        /// Negatives are random strict non-edges (the authors' `_strict_negative`) instead of (u, random v′).
        public var randomPairNegatives = true
        public var epochs = 20
        public var seed: UInt64 = 0
        /// Remove both directions of each batch's target edges from the graph while training on them.
        public var removeTargetEdges = true
        /// K of the reported Hits@K.
        public var hitsK = 100
        /// Model selection by validation Hits@K (the NCN protocol) instead of validation AUROC.
        public var selectByHits = false
        public init() {}
    }

    /// Test metrics at the best-validation epoch.
    public struct Result: Sendable {
        public var bestEpoch = 0
        public var validationAUROC = 0.0, validationHits = 0.0
        public var testAUROC = 0.0, testAveragePrecision = 0.0, testHits = 0.0, testMRR = 0.0
        /// Mean wall-clock seconds per training epoch (evaluation excluded).
        public var epochSeconds = 0.0
        /// Per epoch (epoch 1 first): mean training loss, validation AUROC and validation Hits@K.
        public var lossHistory: [Double] = [], validationAUROCHistory: [Double] = [], validationHitsHistory: [Double] = []
    }

    public let configuration: Configuration
    public private(set) var model: NBFNet
    var rng: RandomGenerator
    /// The graph scores are computed on (the split's message-passing graph after `fit`).
    public internal(set) var scoringGraph: Graph

    public init(graph: Graph, configuration: Configuration = Configuration()) throws {
        let c = configuration
        guard c.dimension >= 1, c.dimension <= 1024, c.layers >= 1, c.layers <= 32, c.batchSize >= 1, c.epochs >= 0,
              c.hitsK >= 1, c.learningRate.isFinite, c.learningRate > 0, c.runsPerPass >= 4, (1...2).contains(c.relations) else {
            throw GraphError.invalid("NBFNet needs dimension in 1…1024, layers in 1…32, batch ≥ 1, runs per pass ≥ 4, relations 1 or 2, epochs ≥ 0, K ≥ 1, learning rate > 0")
        }
        guard graph.nodeCount >= 2 else { throw GraphError.invalid("NBFNet needs at least 2 nodes") }
        self.configuration = c
        scoringGraph = graph
        var initRNG = RandomGenerator(seed: c.seed ^ 0x4E42_464E)
        model = NBFNet(dimension: c.dimension, layers: c.layers, relations: c.relations, rng: &initRNG)
        rng = RandomGenerator(seed: c.seed)
    }

    /// Called after each epoch with (epoch, mean training loss, this epoch's validation AUROC and Hits@K, the
    /// best-validation result so far).
    public var onEpoch: ((Int, Float, Double, Double, Result) -> Void)?

    /// The adjacency the model propagates over for `graph` (with self loops when configured).
    func propagationAdjacency(_ graph: Graph) -> CSRMatrix {
        configuration.selfLoops ? graph.selfLoopAdjacency() : graph.adjacency
    }

    /// Logits of `pairs` on `scoringGraph` (node ids must be in range).
    public func scores(_ pairs: NodePairs) -> [Float] {
        model.scores(pairs, adjacency: propagationAdjacency(scoringGraph), batch: configuration.runsPerPass,
                     symmetric: configuration.symmetric)
    }

    /// AUROC, average precision, Hits@K (strict) and MRR of positives against negatives.
    public func evaluate(positives: NodePairs, negatives: NodePairs) throws -> (auroc: Double, ap: Double, hits: Double, mrr: Double) {
        let p = scores(positives), n = scores(negatives)
        let k = Swift.min(configuration.hitsK, n.count)
        return (try LinkMetrics.auroc(positive: p, negative: n), try LinkMetrics.averagePrecision(positive: p, negative: n),
                try LinkMetrics.hitsAtK(positive: p, negative: n, k: k), try LinkMetrics.meanReciprocalRank(positive: p, negative: n))
    }

    /// Re-initialises the model and trains it on `split` (see the type's documentation).
    /// `progress(epoch, total, loss)` returning false stops with `GraphError.cancelled`.
    public func fit(split: LinkSplit, progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Result {
        let c = configuration
        var initRNG = RandomGenerator(seed: c.seed ^ 0x4E42_464E)
        model = NBFNet(dimension: c.dimension, layers: c.layers, relations: c.relations, rng: &initRNG)
        rng = RandomGenerator(seed: c.seed)
        let mp = split.messagePassingGraph
        scoringGraph = mp
        let optimizer = Adam(groups: [ParameterGroup(parameters: model.parameters, learningRate: c.learningRate)])
        let positives = split.supervisionEdges
        guard positives.count >= 1 else { throw GraphError.invalid("the split has no training edges") }
        var result = Result()
        var best = model.stateDict()
        var seconds = 0.0
        for epoch in 1...Swift.max(c.epochs, 1) where c.epochs > 0 {
            let start = monotonicSeconds()
            let order = rng.permutation(positives.count)
            var lossSum: Float = 0, steps = 0, offset = 0
            while offset < order.count {
                let ids = order[offset..<Swift.min(offset + c.batchSize, order.count)]
                offset += c.batchSize
                var batch = NodePairs()
                for id in ids {
                    let flip = rng.nextUniform() < 0.5
                    batch.sources.append(flip ? positives.targets[id] : positives.sources[id])
                    batch.targets.append(flip ? positives.sources[id] : positives.targets[id])
                }
                let negatives = c.randomPairNegatives ? try sampleStrictNegatives(of: mp, count: batch.count, rng: &rng)
                    : NodePairs(sources: batch.sources, targets: batch.sources.map { u -> Int in
                        var v = rng.nextInt(below: mp.nodeCount), tries = 0
                        while (v == u || mp.hasEdge(u, v)) && tries < 100 { v = rng.nextInt(below: mp.nodeCount); tries += 1 }
                        return v
                    })
                let graph = c.removeTargetEdges ? try mp.removingEdges(batch) : mp
                let adjacency = propagationAdjacency(graph)
                let perPass = Swift.max(1, c.runsPerPass / (c.symmetric ? 4 : 2))
                let totalPairs = Float(2 * batch.count)
                var value: Float = 0, start = 0
                while start < batch.count {
                    let range = start..<Swift.min(start + perPass, batch.count)
                    start = range.upperBound
                    let pairs = NodePairs(sources: Array(batch.sources[range]) + Array(negatives.sources[range]),
                                          targets: Array(batch.targets[range]) + Array(negatives.targets[range]))
                    let logits = model.pairLogits(pairs, adjacency: adjacency, symmetric: c.symmetric)
                    var labels = Tensor(zeros: [pairs.count])
                    labels.withUnsafeMutableBufferPointer { p in for i in 0..<range.count { p[i] = 1 } }
                    let loss = binaryCrossEntropyWithLogits(logits: logits, targets: labels) * (Float(pairs.count) / totalPairs)
                    let part = loss.value.scalar
                    guard part.isFinite else { throw GraphError.numerical("the NBFNet loss became \(part) at epoch \(epoch)") }
                    loss.backward()
                    value += part
                }
                optimizer.step()
                optimizer.clearGradients()
                lossSum += value; steps += 1
            }
            seconds += monotonicSeconds() - start
            let v = try evaluate(positives: split.validationPositives, negatives: split.validationNegatives)
            result.lossHistory.append(Double(lossSum / Float(Swift.max(steps, 1))))
            result.validationAUROCHistory.append(v.auroc); result.validationHitsHistory.append(v.hits)
            let metric = c.selectByHits ? v.hits : v.auroc
            if result.bestEpoch == 0 || metric > (c.selectByHits ? result.validationHits : result.validationAUROC) {
                let t = try evaluate(positives: split.testPositives, negatives: split.testNegatives)
                result.bestEpoch = epoch; result.validationAUROC = v.auroc; result.validationHits = v.hits
                result.testAUROC = t.auroc; result.testAveragePrecision = t.ap; result.testHits = t.hits; result.testMRR = t.mrr
                best = model.stateDict()
            }
            result.epochSeconds = seconds / Double(epoch)
            onEpoch?(epoch, lossSum / Float(Swift.max(steps, 1)), v.auroc, v.hits, result)
            if let progress, !progress(epoch, c.epochs, lossSum / Float(Swift.max(steps, 1))) {
                throw GraphError.cancelled("stopped by the progress callback at epoch \(epoch)")
            }
        }
        try model.loadStateDict(best)
        result.epochSeconds = seconds / Double(Swift.max(c.epochs, 1))
        return result
    }
}
