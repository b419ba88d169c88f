/// A complete user environment given as batched functions (e.g. C or Python callbacks).
///
/// Every function may throw to abort the flowgen call that invoked it. Because most
/// `DiscreteEnvironment` requirements cannot throw, a failure is recorded (the first one wins), the
/// failing call returns a harmless value (all-false masks, unchanged states, zero encodings), every
/// later call short-circuits, and the trainer rethrows the failure through `throwIfFailed()` before
/// it applies or reports anything — so a failing callback never changes the trainer.
///
/// Outputs are validated: every state needs a valid forward action; encodings must be finite; log
/// rewards must be finite; and each transition taken is checked against the backward functions
/// (the child's backward mask must allow the action and `backwardStep(step(s, a), a)` must equal s).
/// Enumerable environments list every state in a topological order; indices come from that list.
public final class CallbackEnvironment: DiscreteEnvironment {
    /// The user's functions. States are flat `[count, stateDimension]` arrays.
    public struct Functions {
        /// `(states, count)` → `[count, actionCount]` (exit last).
        public var forwardMask: ([Int32], Int) throws -> [Bool]
        /// `(states, count)` → `[count, actionCount − 1]`.
        public var backwardMask: ([Int32], Int) throws -> [Bool]
        /// `(states, actions, count)` → children `[count, stateDimension]`.
        public var step: ([Int32], [Int], Int) throws -> [Int32]
        /// `(states, actions, count)` → parents `[count, stateDimension]`.
        public var backwardStep: ([Int32], [Int], Int) throws -> [Int32]
        /// `(states, count)` → log R `[count]`.
        public var logReward: ([Int32], Int) throws -> [Double]
        /// `(states, count, destination)` writes `[count, encodingDimension]` floats.
        public var encode: ([Int32], Int, UnsafeMutablePointer<Float>) throws -> Void
        /// All states `[enumeratedStateCount, stateDimension]` in topological order (enumerable only).
        public var allStates: (() throws -> [Int32])?

        public init(forwardMask: @escaping ([Int32], Int) throws -> [Bool], backwardMask: @escaping ([Int32], Int) throws -> [Bool],
                    step: @escaping ([Int32], [Int], Int) throws -> [Int32], backwardStep: @escaping ([Int32], [Int], Int) throws -> [Int32],
                    logReward: @escaping ([Int32], Int) throws -> [Double],
                    encode: @escaping ([Int32], Int, UnsafeMutablePointer<Float>) throws -> Void,
                    allStates: (() throws -> [Int32])? = nil) {
            self.forwardMask = forwardMask; self.backwardMask = backwardMask
            self.step = step; self.backwardStep = backwardStep
            self.logReward = logReward; self.encode = encode; self.allStates = allStates
        }
    }

    public let stateDimension: Int
    public let actionCount: Int
    public let encodingDimension: Int
    public let maxTrajectoryLength: Int
    public let initialState: [Int32]
    public let enumeratedStateCount: Int?
    public let functions: Functions
    /// The first failure since it was last thrown.
    public private(set) var failure: GFlowNetError?
    private var enumeration: [Int32] = []
    private var indexOf: [[Int32]: Int] = [:]
    private var cachedMaximum: Double?

    /// Preconditions (the C layer validates them): dimensions ≥ 1, `actionCount` ≥ 2,
    /// `initialState.count == stateDimension`, `stateCount` nil or ≥ 1 with `functions.allStates` set.
    /// For enumerable environments call `validateEnumeration()` before use.
    public init(stateDimension: Int, actionCount: Int, encodingDimension: Int, maxTrajectoryLength: Int,
                initialState: [Int32], stateCount: Int?, functions: Functions) {
        precondition(stateDimension >= 1 && actionCount >= 2 && encodingDimension >= 1 && maxTrajectoryLength >= 1)
        precondition(initialState.count == stateDimension && (stateCount == nil || functions.allStates != nil))
        self.stateDimension = stateDimension; self.actionCount = actionCount
        self.encodingDimension = encodingDimension; self.maxTrajectoryLength = maxTrajectoryLength
        self.initialState = initialState; self.enumeratedStateCount = stateCount; self.functions = functions
    }

    /// Throws (and clears) the recorded failure.
    public func throwIfFailed() throws {
        if let f = failure {
            failure = nil
            throw f
        }
    }

    private func record(_ error: Error, _ what: String) {
        guard failure == nil else { return }
        if let e = error as? GFlowNetError {
            switch e {
            case .callback(let m): failure = .callback("\(what): \(m)")
            default: failure = e
            }
        } else {
            failure = .callback("\(what): \(error)")
        }
    }

    private func row(_ states: [Int32], _ i: Int) -> [Int32] { Array(states[(i * stateDimension)..<((i + 1) * stateDimension)]) }

    /// Reads the enumeration, checks it (count, distinct states, s₀ listed, every transition of every
    /// state leads to a listed state later in the list) and builds the index. Throws on any problem.
    public func validateEnumeration() throws {
        guard let n = enumeratedStateCount, let list = functions.allStates else { return }
        let all = try list()
        guard all.count == n * stateDimension else {
            throw GFlowNetError.callback("all_states returned \(all.count) values, \(n) × \(stateDimension) expected")
        }
        var index = [[Int32]: Int](minimumCapacity: n)
        for i in 0..<n {
            let s = row(all, i)
            if let j = index[s] { throw GFlowNetError.invalidConfiguration("all_states lists state \(s) twice (positions \(j) and \(i))") }
            index[s] = i
        }
        guard index[initialState] != nil else { throw GFlowNetError.invalidConfiguration("all_states does not list the initial state \(initialState)") }
        enumeration = all
        indexOf = index
        let dag = try EnumeratedDAG(self)
        try throwIfFailed()
        let a = actionCount
        for i in 0..<n {
            for action in 0..<(a - 1) where dag.forwardMask[i * a + action] {
                let c = dag.children[i * (a - 1) + action]
                guard c > i else {
                    throw GFlowNetError.invalidConfiguration("all_states is not in topological order: action \(action) leads from state \(row(all, i)) (position \(i)) to position \(c)")
                }
            }
        }
    }

    public func forwardMask(_ states: [Int32], count: Int) -> [Bool] {
        let none = [Bool](repeating: false, count: count * actionCount)
        guard failure == nil else { return none }
        do {
            let m = try functions.forwardMask(states, count)
            for i in 0..<count where !(0..<actionCount).contains(where: { m[i * actionCount + $0] }) {
                throw GFlowNetError.callback("the forward mask of state \(row(states, i)) allows no action (not even exit)")
            }
            return m
        } catch { record(error, "forward_mask"); return none }
    }

    public func backwardMask(_ states: [Int32], count: Int) -> [Bool] {
        let none = [Bool](repeating: false, count: count * (actionCount - 1))
        guard failure == nil else { return none }
        do { return try functions.backwardMask(states, count) } catch { record(error, "backward_mask"); return none }
    }

    public func step(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        guard failure == nil else { return states }
        do {
            let next = try functions.step(states, actions, count)
            // The transition must be undone by the backward functions (P_B and exact metrics rely on it).
            let bmask = try functions.backwardMask(next, count)
            let back = try functions.backwardStep(next, actions, count)
            for i in 0..<count {
                let a = actions[i]
                guard a >= 0 && a < actionCount - 1 && bmask[i * (actionCount - 1) + a] else {
                    throw GFlowNetError.callback("masks disagree with step: backward action \(a) is not allowed at \(row(next, i)), reached from \(row(states, i)) by forward action \(a)")
                }
                guard row(back, i) == row(states, i) else {
                    throw GFlowNetError.callback("backward_step(step(\(row(states, i)), \(a)), \(a)) = \(row(back, i)), not the original state")
                }
            }
            return next
        } catch { record(error, "step"); return states }
    }

    public func backwardStep(_ states: [Int32], actions: [Int], count: Int) -> [Int32] {
        guard failure == nil else { return states }
        do { return try functions.backwardStep(states, actions, count) } catch { record(error, "backward_step"); return states }
    }

    public func logReward(_ states: [Int32], count: Int) throws -> [Double] {
        try throwIfFailed()
        let values: [Double]
        do { values = try functions.logReward(states, count) } catch let e as GFlowNetError {
            if case .callback(let m) = e { throw GFlowNetError.callback("log_reward: \(m)") }
            throw e
        }
        for (i, v) in values.enumerated() where !v.isFinite {
            throw GFlowNetError.invalidReward("log reward of state \(row(states, i)) is \(v) (rewards must be finite and positive)")
        }
        return values
    }

    public func encode(_ states: [Int32], count: Int, into destination: UnsafeMutablePointer<Float>) {
        let total = count * encodingDimension
        destination.initialize(repeating: 0, count: total)
        guard failure == nil else { return }
        do {
            try functions.encode(states, count, destination)
            for i in 0..<total where !destination[i].isFinite {
                let r = i / encodingDimension
                throw GFlowNetError.callback("encode wrote \(destination[i]) for state \(row(states, r)) (column \(i % encodingDimension)); encodings must be finite")
            }
        } catch {
            record(error, "encode")
            destination.update(repeating: 0, count: total)
        }
    }

    public func allStates() -> [Int32] { enumeration }

    public func stateIndex(_ states: [Int32], count: Int) -> [Int] {
        (0..<count).map { i in
            if let j = indexOf[row(states, i)] { return j }
            if failure == nil { failure = .callback("state \(row(states, i)) is not listed by all_states") }
            return 0
        }
    }

    /// Modes: states whose log reward is within 1e-9 of the maximum over all states (enumerable only).
    public func isMode(_ states: [Int32], count: Int) throws -> [Bool] {
        guard let n = enumeratedStateCount else { return [Bool](repeating: false, count: count) }
        if cachedMaximum == nil { cachedMaximum = try logReward(allStates(), count: n).max() }
        let best = cachedMaximum ?? 0
        return try logReward(states, count: count).map { $0 >= best - 1e-9 }
    }
}
