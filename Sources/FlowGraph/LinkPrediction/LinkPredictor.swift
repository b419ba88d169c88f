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
    /// Neural common neighbours (Wang et al. 2023): Lin(β·MLP_cn(Σ_{w∈N(u)∩N(v)} h_w) + MLP_ij(h_u ⊙ h_v)).
    case ncn
    /// Neural Bellman–Ford network (Zhu et al. 2021; `NBFNet`, trained by `NBFNetTrainer`): no node features.
    case nbfnet

    /// True for the feature-based models trained here (GAE, NCN); NBFNet has its own trainer.
    public var isLearned: Bool { self == .gae || self == .ncn }
    var heuristic: LinkHeuristic? {
        switch self {
        case .cn: return .commonNeighbors
        case .aa: return .adamicAdar
        case .ra: return .resourceAllocation
        default: return nil
        }
    }
}

/// One run of the NCN protocol: the test metrics at the epoch with the best validation Hits@K.
public struct LinkRunResult: Sendable {
    public var seed: UInt64
    /// 1-based epoch whose validation Hits@K was best (0 for heuristics).
    public var bestEpoch: Int
    public var validationHits: Double
    public var testHits: Double
    public var testMRR: Double
    public var testAUROC: Double
    /// Mean wall-clock seconds per training epoch (0 for heuristics).
    public var epochSeconds: Double
}

/// The NCN node encoder (`puregcn` with `--use_xlin --ln --jk`): h₀ = ReLU(LN(X W + b)),
/// h_{l+1} = Â h_l (parameter-free propagation), output Σ_l h_l (jumping knowledge by sum).
final class NCNEncoder: Module {
    let weight: Variable
    let bias: Variable
    let norm: LayerNorm
    let propagations: Int

    init(inFeatures: Int, hidden: Int, propagations: Int, rng: inout RandomGenerator) {
        weight = Variable(Initializer.torchLinearDefault.make([hidden, inFeatures], rng: &rng), requiresGrad: true)
        let bound = 1 / Float(Swift.max(inFeatures, 1)).squareRoot()
        bias = Variable(rng.uniform([hidden], low: -bound, high: bound), requiresGrad: true)
        norm = LayerNorm(hidden)
        self.propagations = propagations
    }

    func callAsFunction(_ x: NodeInput, operator op: CSRMatrix) -> Variable {
        var h = norm(x.project(weight) + bias).relu()
        var sum = h
        for _ in 0..<propagations {
            h = spmm(op, h)
            sum = sum + h
        }
        return sum
    }

    func namedParameters() -> [(name: String, parameter: Variable)] {
        [("xlin.weight", weight), ("xlin.bias", bias)] + scoped("ln", norm)
    }
}

/// The NCN score head (Wang et al. 2023, `CNLinkPredictor`).
final class NCNDecoder: Module {
    let commonMLP: MLP
    let pairMLP: MLP
    let output: MLP
    let beta: Variable

    init(hidden: Int, rng: inout RandomGenerator) {
        commonMLP = MLP(widths: [hidden, hidden, hidden], rng: &rng)
        pairMLP = MLP(widths: [hidden, hidden, hidden], rng: &rng)
        output = MLP(widths: [hidden, hidden, 1], rng: &rng)
        beta = Variable(Tensor(shape: [1], repeating: 1), requiresGrad: true)
    }

    func namedParameters() -> [(name: String, parameter: Variable)] {
        scoped("xcnlin", commonMLP) + scoped("xijlin", pairMLP) + scoped("lin", output) + [("beta", beta)]
    }
}

/// Trains and evaluates a link predictor under the NCN protocol (`LinkSplit.ncn`): message passing on the
/// training edges, per-epoch uniform training negatives, BCE loss, model selection by validation Hits@K.
public final class LinkPredictor {
    public struct Configuration: Sendable {
        public var model: LinkModelKind = .cn
        /// Embedding width of GAE/NCN.
        public var hidden = 256
        /// Graph layers of the encoder (GAE: GCN layers, default 2; NCN: propagation steps, default 1).
        public var layers = 2
        public var learningRate: Float = 0.01
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
        /// NCN: each training step computes common neighbours on a copy of the graph with edges dropped with
        /// this probability (NCN's `preedp`, 0.4 on Cora); 0 for other models.
        public var predictorEdgeDropout: Float = 0
        /// NCN: the predictor's learning rate relative to the encoder's (NCN's Cora setting 0.0024 / 0.0043).
        public var predictorLearningRateScale: Float = 1
        public init() {}
        public init(model: LinkModelKind) {
            self.model = model
            if model == .ncn {
                layers = 1; inputDropout = 0.7; learningRate = 0.0043
                predictorEdgeDropout = 0.4; predictorLearningRateScale = 0.0024 / 0.0043
            }
            if model == .nbfnet {   // NBFNet's Cora recipe: 6 layers of 32, Adam 5e-3, 20 epochs
                hidden = 32; layers = 6; learningRate = 5e-3; batchSize = 32; epochs = 20
            }
        }
    }

    public let configuration: Configuration
    public let graph: Graph
    let input: NodeInput?
    var encoder: GNNEncoder?
    var ncnEncoder: NCNEncoder?
    var decoder: NCNDecoder?
    /// NBFNet's trainer (model `.nbfnet` only; see NBFNetLinkPredictor.swift).
    var nbfnet: NBFNetTrainer?
    var rng: RandomGenerator
    /// The graph scores are computed on: the full graph before `fit`, the split's message-passing graph after.
    public private(set) var scoringGraph: Graph
    var scoringOperator: CSRMatrix?
    /// The split of the last `fit`, if any.
    public private(set) var split: LinkSplit?

    /// - Throws: `GraphError.invalid` when a learned model is asked for on a graph without features, or a
    ///   setting is out of range.
    public init(graph: Graph, configuration: Configuration) throws {
        let c = configuration
        guard c.hidden >= 1, c.hidden <= 1 << 16, c.layers >= 1, c.layers <= 16, c.epochs >= 0, c.batchSize >= 0,
              c.hitsK >= 1, c.dropout >= 0, c.dropout < 1, c.inputDropout >= 0, c.inputDropout < 1, c.learningRate.isFinite, c.learningRate > 0 else {
            throw GraphError.invalid("hidden in 1…65536, layers in 1…16, epochs ≥ 0, batch ≥ 0, K ≥ 1, dropout in [0, 1), learning rate > 0 are required")
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
        let widths = [graph.featureCount] + [Int](repeating: configuration.hidden, count: configuration.layers)
        if configuration.model == .ncn {
            encoder = nil
            ncnEncoder = NCNEncoder(inFeatures: graph.featureCount, hidden: configuration.hidden,
                                    propagations: configuration.layers, rng: &init_)
            decoder = NCNDecoder(hidden: configuration.hidden, rng: &init_)
        } else {
            encoder = GNNEncoder(kind: .gcn, widths: widths, dropout: configuration.dropout,
                                 inputDropout: configuration.inputDropout, rng: &init_)
            ncnEncoder = nil
            decoder = nil
        }
        scoringOperator = nil
    }

    var modules: [Module] { [encoder as Module?, ncnEncoder as Module?, decoder as Module?].compactMap { $0 } }

    /// Node embeddings on `op`.
    func embed(_ op: CSRMatrix, training: Bool) -> Variable {
        if let ncnEncoder {
            var x = input!
            if training, configuration.inputDropout > 0 {
                switch x {
                case .sparse(let m): x = .sparse(sparseDropout(m, probability: configuration.inputDropout, rng: &rng))
                case .dense(let v): x = .dense(Dropout(probability: configuration.inputDropout)(v, training: true, rng: &rng))
                }
            }
            return ncnEncoder(x, operator: op)
        }
        return encoder!(input!, operator: op, training: training, rng: &rng)
    }

    /// Logits of `pairs` from embeddings `h` [n, hidden] with common neighbours taken in `structure`.
    func decode(_ h: Variable, _ pairs: NodePairs, structure: Graph, training: Bool = false) -> Variable {
        let hu = h.indexSelect(axis: 0, indices: pairs.sources)
        let hv = h.indexSelect(axis: 0, indices: pairs.targets)
        guard let decoder else { return (hu * hv).sum(axis: 1) }
        let common = commonNeighborMatrix(pairs, on: structure)
        let drop = Dropout(probability: configuration.model == .ncn ? 0.3 : 0)
        let xcn = drop(spmm(common, h), training: training, rng: &rng)
        let xij = drop(hu * hv, training: training, rng: &rng)
        let mixed = decoder.commonMLP(xcn) * decoder.beta + decoder.pairMLP(xij)
        return decoder.output(mixed).reshaped([pairs.count])
    }

    /// Scores (logits for learned models, heuristic values otherwise) of `pairs` on `scoringGraph`.
    /// Node ids must be in range (precondition; the C layer validates).
    public func scores(_ pairs: NodePairs) -> [Float] {
        if let nbfnet { return nbfnet.scores(pairs) }
        if let h = configuration.model.heuristic { return h.scores(pairs, on: scoringGraph) }
        if scoringOperator == nil { scoringOperator = scoringGraph.gcnNormalizedAdjacency() }
        return withoutGradients {
            decode(embed(scoringOperator!, training: false), pairs, structure: scoringGraph).value.scalars
        }
    }

    /// Hits@K (strict), MRR and AUROC of positives against negatives with the current model.
    public func evaluate(positives: NodePairs, negatives: NodePairs, k: Int) throws -> (hits: Double, mrr: Double, auroc: Double) {
        let p = scores(positives), n = scores(negatives)
        return (try LinkMetrics.hitsAtK(positive: p, negative: n, k: k),
                try LinkMetrics.meanReciprocalRank(positive: p, negative: n),
                try LinkMetrics.auroc(positive: p, negative: n))
    }

    /// One run of the protocol on the split seeded by `splitSeed`; learned models are re-initialised from the
    /// configuration's seed, trained `epochs` epochs and left at their best-validation state.
    /// `progress(epoch, total, loss)` returning false stops with `GraphError.cancelled`.
    public func fit(splitSeed: UInt64, progress: ((Int, Int, Float) -> Bool)? = nil) throws -> LinkRunResult {
        let split = try LinkSplit.ncn(graph: graph, seed: splitSeed)
        let k = configuration.hitsK
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
            guard epoch == 0 || v.hits > result.validationHits || result.bestEpoch == 0 else { return false }
            let t = try evaluate(positives: split.testPositives, negatives: split.testNegatives, k: k)
            result.bestEpoch = epoch; result.validationHits = v.hits
            result.testHits = t.hits; result.testMRR = t.mrr; result.testAUROC = t.auroc
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
            ParameterGroup(parameters: decoder?.parameters ?? [],
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
            while offset < order.count {
                let ids = order[offset..<Swift.min(offset + batch, order.count)]
                offset += batch
                let pos = NodePairs(sources: ids.map { positives.sources[$0] }, targets: ids.map { positives.targets[$0] })
                var structure = mp, op = fullOperator
                if configuration.model == .ncn && configuration.targetLinkRemoval {
                    structure = try removing(pos, from: mp)
                    op = structure.gcnNormalizedAdjacency()
                }
                let neg = sampleTrainingNegatives(of: mp, count: pos.count, rng: &rng)
                let pairs = NodePairs(sources: pos.sources + neg.sources, targets: pos.targets + neg.targets)
                let h = embed(op, training: true)
                var cnStructure = structure
                if configuration.model == .ncn && configuration.predictorEdgeDropout > 0 {
                    cnStructure = try droppingEdges(of: structure, probability: configuration.predictorEdgeDropout)
                }
                let logits = decode(h, pairs, structure: cnStructure, training: true)
                var targets = Tensor(zeros: [pairs.count])
                targets.withUnsafeMutableBufferPointer { p in for i in 0..<pos.count { p[i] = 1 } }
                let loss = binaryCrossEntropyWithLogits(logits: logits, targets: targets)
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

    /// The graph with each edge kept with probability 1 − p (NCN's predictor edge dropout).
    func droppingEdges(of g: Graph, probability p: Float) throws -> Graph {
        var s: [Int] = [], t: [Int] = []
        s.reserveCapacity(g.edgeCount); t.reserveCapacity(g.edgeCount)
        for e in 0..<g.edgeCount where rng.nextUniform() >= p { s.append(g.edgeSources[e]); t.append(g.edgeTargets[e]) }
        return try g.withEdges(sources: s, targets: t)
    }

    func removing(_ pairs: NodePairs, from g: Graph) throws -> Graph {
        var drop = Set<Int>()
        for k in 0..<pairs.count {
            drop.insert(Swift.min(pairs.sources[k], pairs.targets[k]) &* g.nodeCount &+ Swift.max(pairs.sources[k], pairs.targets[k]))
        }
        var s: [Int] = [], t: [Int] = []
        for e in 0..<g.edgeCount where !drop.contains(g.edgeSources[e] &* g.nodeCount &+ g.edgeTargets[e]) {
            s.append(g.edgeSources[e]); t.append(g.edgeTargets[e])
        }
        return try g.withEdges(sources: s, targets: t)
    }
}

/// A [pairs.count, n] 0/1 matrix whose row b marks the common neighbours of pair b in `graph` (sorted-row
/// intersection; the NCN aggregation is then one SpMM with the node embeddings).
public func commonNeighborMatrix(_ pairs: NodePairs, on graph: Graph) -> CSRMatrix {
    let rp = graph.adjacency.rowPointers, ci = graph.adjacency.columnIndices
    var pointers = [Int](repeating: 0, count: pairs.count + 1)
    var cols: [Int] = []
    for b in 0..<pairs.count {
        let u = pairs.sources[b], v = pairs.targets[b]
        var i = rp[u], j = rp[v]
        while i < rp[u + 1] && j < rp[v + 1] {
            let a = ci[i], c = ci[j]
            if a == c { cols.append(a); i += 1; j += 1 } else if a < c { i += 1 } else { j += 1 }
        }
        pointers[b + 1] = cols.count
    }
    return CSRMatrix(rowCount: pairs.count, columnCount: graph.nodeCount, rowPointers: pointers, columnIndices: cols,
                     values: [Float](repeating: 1, count: cols.count))
}

/// Monotonic wall-clock seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
