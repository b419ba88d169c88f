import FlowTensor
import FlowAutodiff
import FlowNN

/// A general-purpose MLP with its optimizer, trained on in-memory arrays for regression (MSE) or
/// classification (softmax cross-entropy). This is the model behind the C `fg_mlp_*` functions; it
/// checkpoints everything needed to resume bit-for-bit (weights, optimizer moments, step, RNG).
public final class SupervisedMLP {
    /// What the outputs mean and which loss trains them.
    public enum Task: UInt32, Sendable { case regression = 0, classification = 1 }
    /// The update rule.
    public enum OptimizerKind: UInt32, Sendable { case adam = 0, adamW = 1, sgd = 2 }

    /// Everything that defines a model before training.
    public struct Configuration: Sendable, Equatable {
        public var widths: [Int]
        public var activation: ActivationKind = .relu
        public var task: Task = .regression
        public var optimizer: OptimizerKind = .adam
        public var seed: UInt64 = 0
        public var learningRate: Float = 1e-3
        public var weightDecay: Float = 0
        /// Global-norm clipping threshold; 0 disables clipping.
        public var gradientClipNorm: Float = 0
        /// Rows per step (sampled without replacement); 0 = all rows.
        public var batchSize: Int = 0

        public init(widths: [Int]) { self.widths = widths }
    }

    /// Why training stopped early.
    public typealias TrainingError = FlowOptim.TrainingError

    public let configuration: Configuration
    public let network: MLP
    public let optimizer: Optimizer
    /// Mini-batch sampling generator (initialisation uses a separate stream derived from the seed).
    public var rng: RandomGenerator

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        var initRNG = RandomGenerator(seed: configuration.seed)
        network = MLP(widths: configuration.widths, activation: configuration.activation, rng: &initRNG)
        let group = ParameterGroup(parameters: network.parameters, learningRate: configuration.learningRate,
                                   weightDecay: configuration.weightDecay)
        switch configuration.optimizer {
        case .adam: optimizer = Adam(groups: [group])
        case .adamW: optimizer = AdamW(groups: [group])
        case .sgd: optimizer = SGD(groups: [group], momentum: 0.9)
        }
        rng = RandomGenerator(seed: configuration.seed ^ 0x5EED_0F_BA7C4)
    }

    public var inputWidth: Int { configuration.widths.first ?? 0 }
    public var outputWidth: Int { configuration.widths.last ?? 0 }
    /// Optimizer steps taken so far.
    public var step: Int { optimizer.stepCount }

    /// The loss of `outputs` against targets (regression: same shape; classification: [n] class ids).
    func loss(_ outputs: Variable, targets: Tensor) -> Variable {
        switch configuration.task {
        case .regression:
            return meanSquaredError(predicted: outputs, expected: targets.reshaped(outputs.shape))
        case .classification:
            return crossEntropy(logits: outputs, labels: targets.scalars.map { Int($0) })
        }
    }

    /// Trains for `steps` optimizer steps on x [n, input] and y (regression [n, output]; classification
    /// [n] integral class ids). `progress(step, total, loss)` returns false to stop. Returns the last loss.
    /// A non-finite loss stops training before the offending update is applied.
    @discardableResult
    public func fit(x: Tensor, y: Tensor, steps: Int, progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Float {
        let rows = x.shape[0]
        let batch = configuration.batchSize == 0 ? rows : Swift.min(configuration.batchSize, rows)
        let targetWidth = configuration.task == .regression ? outputWidth : 1
        var lastLoss = Float.nan
        var order = Array(0..<rows)
        for s in 1...Swift.max(steps, 1) where steps > 0 {
            let (xb, yb): (Tensor, Tensor)
            if batch == rows {
                (xb, yb) = (x, y)
            } else {
                // Partial Fisher–Yates: the first `batch` entries become a uniform sample without
                // replacement. The swaps are undone afterwards so that each batch depends only on the
                // generator state (which checkpoints save), never on earlier calls.
                var swaps = [Int](repeating: 0, count: batch)
                for i in 0..<batch {
                    swaps[i] = i + rng.nextInt(below: rows - i)
                    order.swapAt(i, swaps[i])
                }
                (xb, yb) = (gatherRows(x, order, batch), gatherRows(y.reshaped([rows, targetWidth]), order, batch))
                for i in stride(from: batch - 1, through: 0, by: -1) { order.swapAt(i, swaps[i]) }
            }
            let outputs = network(Variable(xb))
            let lossValue = loss(outputs, targets: yb)
            lastLoss = lossValue.value.scalar
            guard lastLoss.isFinite else { throw TrainingError.numerical(step: step + 1, loss: lastLoss) }
            optimizer.clearGradients()
            lossValue.backward()
            if configuration.gradientClipNorm > 0 {
                clipGradientNorm(network.parameters, maxNorm: configuration.gradientClipNorm)
            }
            optimizer.step()
            if let progress, !progress(s, steps, lastLoss) { throw TrainingError.cancelled(step: s) }
        }
        return lastLoss
    }

    /// Network outputs for x [n, input] (logits for classification).
    public func predict(_ x: Tensor) -> Tensor {
        withoutGradients { network(Variable(x)).value }
    }

    /// Mean loss and (classification) accuracy on (x, y); accuracy is NaN for regression.
    public func evaluate(x: Tensor, y: Tensor) -> (loss: Float, accuracy: Float) {
        withoutGradients {
            let outputs = network(Variable(x))
            let l = loss(outputs, targets: y).value.scalar
            guard configuration.task == .classification else { return (l, .nan) }
            let predicted = outputs.value.extreme(axis: 1, largest: true).indices
            let labels = y.scalars
            var correct = 0
            for i in predicted.indices where predicted[i] == Int(labels[i]) { correct += 1 }
            return (l, Float(correct) / Float(Swift.max(predicted.count, 1)))
        }
    }

    private func gatherRows(_ t: Tensor, _ order: [Int], _ count: Int) -> Tensor {
        let width = t.count / Swift.max(t.shape[0], 1)
        let out = Tensor(uninitialized: [count, width])
        let src = t.storage.pointer, dst = out.storage.pointer
        for i in 0..<count { (dst + i &* width).update(from: src + order[i] &* width, count: width) }
        return out
    }
}
