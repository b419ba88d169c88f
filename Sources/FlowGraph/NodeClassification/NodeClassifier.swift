import FlowTensor
import FlowAutodiff
import FlowNN
import FlowOptim

/// Semi-supervised node classification (Kipf & Welling 2017 setting): a 2-layer GNN trained with
/// cross-entropy on the training nodes, Adam, weight decay on the first layer only, dropout on the
/// input and the hidden layer, row-normalised features. Defaults reproduce PyG's `gcn.py` on Cora.
public final class NodeClassifier {
    public struct Configuration: Sendable {
        public var kind: GNNKind = .gcn
        public var hidden = 16
        public var layers = 2
        public var dropout: Float = 0.5
        public var learningRate: Float = 0.01
        public var weightDecay: Float = 5e-4
        public var epochs = 200
        public var seed: UInt64 = 0
        public var normalizeFeatures = true
        /// GAT: attention heads of the hidden layers (concatenated; `hidden` is the width per head).
        public var heads = 8
        /// GAT: attention heads of the output layer (averaged).
        public var outputHeads = 1
        /// Weight decay on every layer (GAT, as Veličković et al.) instead of the first layer only (Kipf & Welling).
        public var weightDecayAllLayers = false
        /// MPNN + virtual node (Cai et al. 2023): a learned virtual-node update between layers.
        public var virtualNode = false
        /// Jumping knowledge over the layers' states (nil = none: the last layer outputs the classes).
        public var jumpingKnowledge: JumpingKnowledge? = nil
        public init() {}
        /// The defaults of `kind`: Kipf & Welling's GCN setting, or for GAT Veličković et al.'s Cora setting
        /// (8 heads × 8, output 1 head, dropout 0.6 on inputs and attention, lr 0.005, weight decay 5e-4 on all layers).
        public init(kind: GNNKind) {
            self.kind = kind
            if kind == .gat {
                hidden = 8; dropout = 0.6; learningRate = 0.005; weightDecayAllLayers = true
            }
        }
    }

    /// Per-epoch record.
    public struct EpochStats: Sendable {
        public var epoch: Int
        public var loss: Float
        public var validationAccuracy: Float
    }

    public let configuration: Configuration
    public let graph: Graph
    public let encoder: GNNEncoder
    let input: NodeInput
    let op: CSRMatrix
    let labels: [Int]
    let optimizer: Adam
    var rng: RandomGenerator
    /// Epochs trained so far.
    public internal(set) var epochsTrained = 0

    /// - Throws: `GraphError.invalid` when the graph lacks features, labels or training nodes, or a setting is out of range.
    public init(graph: Graph, configuration: Configuration = Configuration()) throws {
        guard let input = nodeInput(for: graph, rowNormalize: configuration.normalizeFeatures) else {
            throw GraphError.invalid("node classification needs node features")
        }
        guard let labels = graph.labels, labels.count == graph.nodeCount else {
            throw GraphError.invalid("node classification needs one label per node")
        }
        guard configuration.hidden >= 1, configuration.layers >= 1, configuration.epochs >= 0,
              configuration.dropout >= 0, configuration.dropout < 1, configuration.heads >= 1, configuration.outputHeads >= 1 else {
            throw GraphError.invalid("hidden ≥ 1, layers ≥ 1, epochs ≥ 0, heads ≥ 1 and dropout in [0, 1) are required")
        }
        if configuration.virtualNode && configuration.layers < 2 {
            throw GraphError.invalid("a virtual node needs at least 2 layers (it acts between layers)")
        }
        self.configuration = configuration
        self.graph = graph
        self.input = input
        self.labels = labels
        self.op = configuration.kind.operatorMatrix(for: graph)
        var rng = RandomGenerator(seed: configuration.seed)
        let widths = [graph.featureCount] + [Int](repeating: configuration.hidden, count: configuration.layers - 1) + [graph.classCount]
        encoder = GNNEncoder(kind: configuration.kind, widths: widths, dropout: configuration.dropout,
                             inputDropout: configuration.dropout, heads: configuration.heads,
                             outputHeads: configuration.outputHeads, virtualNode: configuration.virtualNode,
                             jumpingKnowledge: configuration.jumpingKnowledge, rng: &rng)
        self.rng = rng
        optimizer = Adam(groups: [
            ParameterGroup(parameters: encoder.firstLayerParameters, learningRate: configuration.learningRate,
                           weightDecay: configuration.weightDecay),
            ParameterGroup(parameters: encoder.laterLayerParameters, learningRate: configuration.learningRate,
                           weightDecay: configuration.weightDecayAllLayers ? configuration.weightDecay : 0),
        ].filter { !$0.parameters.isEmpty })
    }

    /// Trains `epochs` (default: the configuration's) full-batch epochs on `trainNodes` (default: the graph's
    /// public training split). `progress(epoch, total, loss)` returning false stops early with
    /// `GraphError.cancelled`. Throws `GraphError.outOfRange`/`.invalid` for bad node ids or an empty set.
    @discardableResult
    public func fit(epochs: Int? = nil, trainNodes: [Int]? = nil,
                    progress: ((Int, Int, Float) -> Bool)? = nil) throws -> [EpochStats] {
        let total = epochs ?? configuration.epochs
        let train = trainNodes ?? graph.trainNodes
        guard !train.isEmpty else { throw GraphError.invalid("no training nodes") }
        if let bad = train.first(where: { $0 < 0 || $0 >= graph.nodeCount }) {
            throw GraphError.outOfRange("training node \(bad) is outside 0..<\(graph.nodeCount)")
        }
        let trainLabels = train.map { labels[$0] }
        var stats: [EpochStats] = []
        for e in 1...Swift.max(total, 1) where total > 0 {
            let logits = encoder(input, operator: op, training: true, rng: &rng)
            let loss = crossEntropy(logits: logits.indexSelect(axis: 0, indices: train), labels: trainLabels)
            let lossValue = loss.value.scalar
            guard lossValue.isFinite else { throw GraphError.numerical("the loss became \(lossValue) at epoch \(e)") }
            loss.backward()
            optimizer.step()
            optimizer.clearGradients()
            epochsTrained += 1
            stats.append(EpochStats(epoch: e, loss: lossValue,
                                    validationAccuracy: graph.validationNodes.isEmpty ? 0 : accuracy(on: graph.validationNodes)))
            if let progress, !progress(e, total, lossValue) { throw GraphError.cancelled("stopped by the progress callback at epoch \(e)") }
        }
        return stats
    }

    /// Class scores [n, classes] of every node (inference mode).
    public func logits() -> Tensor {
        withoutGradients { encoder(input, operator: op, training: false, rng: &rng).value }
    }

    /// Predicted class of every node.
    public func predictions() -> [Int] {
        let l = logits()
        let k = l.shape[1]
        return l.withUnsafeBufferPointer { p in
            (0..<graph.nodeCount).map { i in
                var best = 0
                for j in 1..<Swift.max(k, 1) where p[i * k + j] > p[i * k + best] { best = j }
                return best
            }
        }
    }

    /// Fraction of `nodes` whose predicted class equals the label (0 for an empty set).
    public func accuracy(on nodes: [Int]) -> Float {
        guard !nodes.isEmpty else { return 0 }
        precondition(nodes.allSatisfy { $0 >= 0 && $0 < graph.nodeCount }, "accuracy: node id out of range")
        let predicted = predictions()
        let correct = nodes.reduce(0) { $0 + (predicted[$1] == labels[$1] ? 1 : 0) }
        return Float(correct) / Float(nodes.count)
    }
}
