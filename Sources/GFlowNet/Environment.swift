import FlowTensor

/// A discrete GFlowNet environment with batched operations (torchgfn's `DiscreteEnv` conventions).
///
/// States are integer vectors of `stateDimension` entries, passed as flat row-major arrays
/// `[count, stateDimension]`. There are `actionCount` forward actions; the last one (`actionCount − 1`)
/// is **exit**, which ends the trajectory and makes the current state the terminal object x. Backward
/// action `a` (`0..<actionCount − 1`) undoes forward action `a`, so `backwardStep(step(s, a), a) == s`.
/// Every state reached from `initialState` is a DAG node; the transitions must be acyclic.
public protocol DiscreteEnvironment: AnyObject {
    /// Entries per state.
    var stateDimension: Int { get }
    /// Forward actions including exit (the last index).
    var actionCount: Int { get }
    /// Width of `encode`'s output rows (the policy input).
    var encodingDimension: Int { get }
    /// Upper bound on the number of transitions of one trajectory, exit included.
    var maxTrajectoryLength: Int { get }
    /// s₀ (`stateDimension` entries).
    var initialState: [Int32] { get }

    /// Valid forward actions: `[count, actionCount]` row-major booleans (exit last).
    func forwardMask(_ states: [Int32], count: Int) -> [Bool]
    /// Valid backward actions (parents): `[count, actionCount − 1]`; all false for s₀.
    func backwardMask(_ states: [Int32], count: Int) -> [Bool]
    /// Children: applies valid non-exit forward action `actions[i]` to state i → `[count, stateDimension]`.
    func step(_ states: [Int32], actions: [Int], count: Int) -> [Int32]
    /// Parents: applies valid backward action `actions[i]` to state i → `[count, stateDimension]`.
    func backwardStep(_ states: [Int32], actions: [Int], count: Int) -> [Int32]
    /// log R(x) of terminal states → `[count]`. Throws when the reward cannot be computed (e.g. a failing
    /// user callback) or is not finite.
    func logReward(_ states: [Int32], count: Int) throws -> [Double]
    /// Policy input rows `[count, encodingDimension]` written to `destination`.
    func encode(_ states: [Int32], count: Int, into destination: UnsafeMutablePointer<Float>)

    /// Number of states when they can be enumerated (nil otherwise); every state is terminating.
    var enumeratedStateCount: Int? { get }
    /// All states `[enumeratedStateCount, stateDimension]` in a topological order of the DAG (each state
    /// after all its parents); state `i` of this list has index `i` in `stateIndex`.
    func allStates() -> [Int32]
    /// Index of each state in `allStates()` order → `[count]`.
    func stateIndex(_ states: [Int32], count: Int) -> [Int]
    /// Whether a terminal state is a mode (e.g. a HyperGrid cell with the maximum reward).
    func isMode(_ states: [Int32], count: Int) throws -> [Bool]

    /// Whether `intermediateLogReward` is defined (forward-looking objectives need it). Default false.
    var providesIntermediateLogRewards: Bool { get }
    /// log R(s) = −E(s) of any state (terminal or not) → `[count]`, equal to `logReward` on terminal
    /// states; only called when `providesIntermediateLogRewards`. See EnvironmentCapabilities.swift.
    func intermediateLogReward(_ states: [Int32], count: Int) -> [Double]
    /// The mode region of each state (an id ≥ 0, e.g. a HyperGrid corner), −1 for states that are not
    /// modes. Default: each mode state is its own region (its `stateIndex`).
    func modeRegion(_ states: [Int32], count: Int) throws -> [Int]
    /// Throws (and clears) a failure recorded by a non-throwing requirement, e.g. a failing user
    /// callback (`CallbackEnvironment`); the default does nothing. The trainer calls it before applying
    /// or reporting anything computed with the environment.
    func throwIfFailed() throws
}

extension DiscreteEnvironment {
    public func throwIfFailed() throws {}
}

extension DiscreteEnvironment {
    /// The encoding of `count` states as a tensor `[count, encodingDimension]`.
    public func encodedTensor(_ states: [Int32], count: Int) -> Tensor {
        let t = Tensor(uninitialized: [count, encodingDimension])
        encode(states, count: count, into: t.storage.pointer)
        return t
    }
}

/// Errors raised by environments and the trainer.
public enum GFlowNetError: Error, CustomStringConvertible, Equatable {
    /// A reward was NaN, infinite or not positive.
    case invalidReward(String)
    /// A user callback reported failure (message from the callback).
    case callback(String)
    /// An operation needs an enumerable environment (exact metrics).
    case notEnumerable(String)
    /// The progress callback asked to stop after `step` optimizer steps.
    case cancelled(step: Int)
    /// The loss became non-finite; the update was not applied.
    case numerical(step: Int, loss: Float)
    /// Invalid configuration.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .invalidReward(let m): return m
        case .callback(let m): return m
        case .notEnumerable(let m): return m
        case .cancelled(let s): return "training stopped by the progress callback after step \(s)"
        case .numerical(let s, let l): return "loss became \(l) at step \(s); the step was not applied (lower the learning rate?)"
        case .invalidConfiguration(let m): return m
        }
    }
}

/// Reward-only mode: the structure (states, actions, masks, encoding, enumeration) of `base` with the
/// terminal log reward computed by a user function (e.g. a C or Python callback). Modes are the
/// states whose log reward is within 1e-9 of the maximum over all states (enumerable bases only).
public final class CustomRewardEnvironment: DiscreteEnvironment {
    public let base: DiscreteEnvironment
    /// log R of `count` states `[count, stateDimension]` → `[count]`; throws to abort the caller.
    public let logRewardFunction: ([Int32], Int) throws -> [Double]
    private var cachedMaximum: Double?

    public init(base: DiscreteEnvironment, logReward: @escaping ([Int32], Int) throws -> [Double]) {
        self.base = base
        self.logRewardFunction = logReward
    }

    public var stateDimension: Int { base.stateDimension }
    public var actionCount: Int { base.actionCount }
    public var encodingDimension: Int { base.encodingDimension }
    public var maxTrajectoryLength: Int { base.maxTrajectoryLength }
    public var initialState: [Int32] { base.initialState }
    public func forwardMask(_ states: [Int32], count: Int) -> [Bool] { base.forwardMask(states, count: count) }
    public func backwardMask(_ states: [Int32], count: Int) -> [Bool] { base.backwardMask(states, count: count) }
    public func step(_ states: [Int32], actions: [Int], count: Int) -> [Int32] { base.step(states, actions: actions, count: count) }
    public func backwardStep(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        base.backwardStep(states, actions: actions, count: count)
    }
    public func encode(_ states: [Int32], count: Int, into destination: UnsafeMutablePointer<Float>) {
        base.encode(states, count: count, into: destination)
    }
    public var enumeratedStateCount: Int? { base.enumeratedStateCount }
    public func allStates() -> [Int32] { base.allStates() }
    public func stateIndex(_ states: [Int32], count: Int) -> [Int] { base.stateIndex(states, count: count) }

    public func logReward(_ states: [Int32], count: Int) throws -> [Double] {
        let values = try logRewardFunction(states, count)
        guard values.count == count else {
            throw GFlowNetError.callback("the log reward function returned \(values.count) values for \(count) states")
        }
        for (i, v) in values.enumerated() where !v.isFinite {
            throw GFlowNetError.invalidReward("log reward of state \(Array(states[(i * stateDimension)..<((i + 1) * stateDimension)])) is \(v) (rewards must be finite and positive)")
        }
        return values
    }

    public func isMode(_ states: [Int32], count: Int) throws -> [Bool] {
        guard let n = enumeratedStateCount else { return [Bool](repeating: false, count: count) }
        if cachedMaximum == nil { cachedMaximum = try logReward(allStates(), count: n).max() }
        let best = cachedMaximum ?? 0
        return try logReward(states, count: count).map { $0 >= best - 1e-9 }
    }
}
