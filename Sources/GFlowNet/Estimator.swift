import FlowTensor
import FlowAutodiff
import FlowNN
#if canImport(Glibc)
import Glibc
#endif

/// One MLP trunk whose last layer holds every head, evaluated in one forward pass:
/// columns `[0, A)` are P_F logits (for flow matching: edge log-flows), then `A − 1` P_B logits unless
/// P_B is uniform, then one log F column when `logFlowHead` is set.
public final class PolicyEstimator: Module {
    public let network: MLP
    public let actionCount: Int
    public let uniformBackward: Bool
    public let logFlowHead: Bool

    /// - Parameters: `inputDimension` = the environment's encoding width; `hiddenLayers` ≥ 1 layers of
    ///   `hiddenWidth` units with `activation` (ReLU by default, as torchgfn's MLP).
    public init(inputDimension: Int, actionCount: Int, hiddenWidth: Int, hiddenLayers: Int,
                uniformBackward: Bool, logFlowHead: Bool, activation: ActivationKind = .relu,
                rng: inout RandomGenerator) {
        self.actionCount = actionCount
        self.uniformBackward = uniformBackward
        self.logFlowHead = logFlowHead
        let out = actionCount + (uniformBackward ? 0 : actionCount - 1) + (logFlowHead ? 1 : 0)
        let widths = [inputDimension] + [Int](repeating: hiddenWidth, count: Swift.max(hiddenLayers, 1)) + [out]
        network = MLP(widths: widths, activation: activation, rng: &rng)
    }

    /// Total output columns.
    public var outputWidth: Int { network.layers.last!.outFeatures }
    /// First P_B column (nil for uniform P_B).
    public var backwardColumn: Int? { uniformBackward ? nil : actionCount }
    /// The log F column (nil without that head).
    public var logFlowColumn: Int? { logFlowHead ? outputWidth - 1 : nil }

    /// Encoded states [n, input] → all heads [n, outputWidth].
    public func callAsFunction(_ x: Variable) -> Variable { network(x) }

    public func namedParameters() -> [(name: String, parameter: Variable)] { network.namedParameters() }
}

/// Rows of visited states for which log-probabilities are computed: row r is state `states[r]` at
/// time `times[r]` of trajectory `trajectories[r]`, where `actions[r]` was taken (exit = A − 1) and which
/// was reached by `previousActions[r]` (−1 at s₀).
public struct VisitedRows {
    public var states: [Int32] = []
    public var times: [Int] = []
    public var trajectories: [Int] = []
    public var actions: [Int] = []
    public var previousActions: [Int] = []
    public var count: Int { times.count }

    public init() {}
}

/// Per-position contributions (flat `[T·B]`, time-major) of a set of rows.
struct HeadContributions {
    var logPF: Variable
    var logPB: Variable
    var logF: Variable?
}

extension PolicyEstimator {
    /// Masked log-softmax of the P_F columns of `output` [n, ·] → [n, A].
    func forwardLogProbabilities(_ output: Variable, forwardMask: [Bool]) -> Variable {
        let logits = output.slice(axis: 1, start: 0, end: actionCount)
        return logits.maskedFill(forwardMask.map { !$0 }, value: -.infinity).logSoftmax(axis: 1)
    }

    /// log P_F of the taken action, log P_B of the action that led to each row, log F of each row,
    /// scattered into time-major [T·B] arrays (P_B of the transition t−1 → t lands at position t−1).
    func contributions(output: Variable, rows: VisitedRows, environment env: DiscreteEnvironment,
                       maxLength t: Int, batchSize b: Int) -> HeadContributions {
        let n = rows.count, a = actionCount
        let positions = (0..<n).map { rows.times[$0] * b + rows.trajectories[$0] }
        let fmask = env.forwardMask(rows.states, count: n)
        let logPFAll = forwardLogProbabilities(output, forwardMask: fmask)
        let pfTaken = logPFAll.gather(axis: 1, indices: rows.actions, shape: [n, 1]).reshaped([n])
        let logPF = pfTaken.scatterAdd(rowsInto: t * b, indices: positions)

        // Rows reached by a non-exit action (t ≥ 1) carry P_B of that action.
        let reached = (0..<n).filter { rows.previousActions[$0] >= 0 }
        let pbPositions = reached.map { positions[$0] - b }
        var logPB: Variable
        if reached.isEmpty {
            logPB = Variable(Tensor(zeros: [t * b]))
        } else if let column = backwardColumn {
            let sub = output.indexSelect(axis: 0, indices: reached)
            let m = reached.count
            let states = reached.flatMap { r in rows.states[(r * env.stateDimension)..<((r + 1) * env.stateDimension)] }
            let bmask = env.backwardMask(states, count: m)
            let logits = sub.slice(axis: 1, start: column, end: column + a - 1)
            let logPBAll = logits.maskedFill(bmask.map { !$0 }, value: -.infinity).logSoftmax(axis: 1)
            let taken = logPBAll.gather(axis: 1, indices: reached.map { rows.previousActions[$0] }, shape: [m, 1]).reshaped([m])
            logPB = taken.scatterAdd(rowsInto: t * b, indices: pbPositions)
        } else {
            let states = reached.flatMap { r in rows.states[(r * env.stateDimension)..<((r + 1) * env.stateDimension)] }
            let bmask = env.backwardMask(states, count: reached.count)
            var values = [Float](repeating: 0, count: t * b)
            for (k, p) in pbPositions.enumerated() {
                var parents = 0
                for j in 0..<(a - 1) where bmask[k * (a - 1) + j] { parents += 1 }
                values[p] = -logf(Float(Swift.max(parents, 1)))
            }
            logPB = Variable(Tensor(shape: [t * b], scalars: values))
        }
        var logF: Variable? = nil
        if let column = logFlowColumn {
            logF = output.slice(axis: 1, start: column, end: column + 1).reshaped([n])
                .scatterAdd(rowsInto: t * b, indices: positions)
        }
        return HeadContributions(logPF: logPF, logPB: logPB, logF: logF)
    }
}
