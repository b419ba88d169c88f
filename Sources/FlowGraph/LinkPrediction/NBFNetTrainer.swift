import FlowTensor
import FlowAutodiff
import FlowNN
import FlowOptim

/// Trains and evaluates `NBFNet` on a `LinkSplit` (NBFNet's Cora recipe): each step takes `batchSize` training
/// positives (u, v) in a random orientation, one strict negative (u, v′) per positive (v′ uniform, not a
/// neighbour of u), removes both directions of the batch's positive edges from the message-passing graph
/// (`remove_one_hop`), runs the B Bellman–Ford passes at once and minimises binary cross-entropy with Adam.
/// After each epoch the model is scored on the validation pairs; the state with the best validation metric
/// (AUROC, or Hits@K when `selectByHits`) is kept and its test metrics are reported.
public final class NBFNetTrainer {
    public struct Configuration: Sendable {
        public var dimension = 32
        public var layers = 6
        public var learningRate: Float = 5e-3
        /// Training positives (= Bellman–Ford sources) per step; also the evaluation batch.
        public var batchSize = 32
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
    }

    public let configuration: Configuration
    public private(set) var model: NBFNet
    var rng: RandomGenerator
    /// The graph scores are computed on (the split's message-passing graph after `fit`).
    public private(set) var scoringGraph: Graph

    public init(graph: Graph, configuration: Configuration = Configuration()) throws {
        let c = configuration
        guard c.dimension >= 1, c.dimension <= 1024, c.layers >= 1, c.layers <= 32, c.batchSize >= 1, c.epochs >= 0,
              c.hitsK >= 1, c.learningRate.isFinite, c.learningRate > 0 else {
            throw GraphError.invalid("NBFNet needs dimension in 1…1024, layers in 1…32, batch ≥ 1, epochs ≥ 0, K ≥ 1, learning rate > 0")
        }
        guard graph.nodeCount >= 2 else { throw GraphError.invalid("NBFNet needs at least 2 nodes") }
        self.configuration = c
        scoringGraph = graph
        var initRNG = RandomGenerator(seed: c.seed ^ 0x4E42_464E)
        model = NBFNet(dimension: c.dimension, layers: c.layers, rng: &initRNG)
        rng = RandomGenerator(seed: c.seed)
    }

    /// Logits of `pairs` on `scoringGraph` (node ids must be in range).
    public func scores(_ pairs: NodePairs) -> [Float] {
        model.scores(pairs, adjacency: scoringGraph.adjacency, batch: configuration.batchSize)
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
        model = NBFNet(dimension: c.dimension, layers: c.layers, rng: &initRNG)
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
                var sources: [Int] = [], targets: [Int] = []
                for id in ids {
                    let flip = rng.nextUniform() < 0.5
                    sources.append(flip ? positives.targets[id] : positives.sources[id])
                    targets.append(flip ? positives.sources[id] : positives.targets[id])
                }
                let negatives = sources.map { u -> Int in
                    var v = rng.nextInt(below: mp.nodeCount), tries = 0
                    while (v == u || mp.hasEdge(u, v)) && tries < 100 { v = rng.nextInt(below: mp.nodeCount); tries += 1 }
                    return v
                }
                let graph = c.removeTargetEdges ? try mp.removingEdges(NodePairs(sources: sources, targets: targets)) : mp
                let queries = targets.enumerated().map { (run: $0.offset, target: $0.element) }
                    + negatives.enumerated().map { (run: $0.offset, target: $0.element) }
                let logits = model.logits(sources: sources, queries: queries, adjacency: graph.adjacency)
                var labels = Tensor(zeros: [queries.count])
                labels.withUnsafeMutableBufferPointer { p in for i in 0..<targets.count { p[i] = 1 } }
                let loss = binaryCrossEntropyWithLogits(logits: logits, targets: labels)
                let value = loss.value.scalar
                guard value.isFinite else { throw GraphError.numerical("the NBFNet loss became \(value) at epoch \(epoch)") }
                loss.backward()
                optimizer.step()
                optimizer.clearGradients()
                lossSum += value; steps += 1
            }
            seconds += monotonicSeconds() - start
            let v = try evaluate(positives: split.validationPositives, negatives: split.validationNegatives)
            let metric = c.selectByHits ? v.hits : v.auroc
            if result.bestEpoch == 0 || metric > (c.selectByHits ? result.validationHits : result.validationAUROC) {
                let t = try evaluate(positives: split.testPositives, negatives: split.testNegatives)
                result.bestEpoch = epoch; result.validationAUROC = v.auroc; result.validationHits = v.hits
                result.testAUROC = t.auroc; result.testAveragePrecision = t.ap; result.testHits = t.hits; result.testMRR = t.mrr
                best = model.stateDict()
            }
            if let progress, !progress(epoch, c.epochs, lossSum / Float(Swift.max(steps, 1))) {
                throw GraphError.cancelled("stopped by the progress callback at epoch \(epoch)")
            }
        }
        try model.loadStateDict(best)
        result.epochSeconds = seconds / Double(Swift.max(c.epochs, 1))
        return result
    }
}
