import FlowTensor

/// Default implementations of the optional `DiscreteEnvironment` capabilities and helpers shared by
/// the built-in environments.
extension DiscreteEnvironment {
    /// No intermediate rewards unless the environment defines them.
    public var providesIntermediateLogRewards: Bool { false }

    /// Unavailable by default (callers check `providesIntermediateLogRewards` first): all zeros.
    public func intermediateLogReward(_ states: [Int32], count: Int) -> [Double] {
        [Double](repeating: 0, count: count)
    }

    /// Each mode state is its own region, identified by its `stateIndex`; −1 for other states.
    public func modeRegion(_ states: [Int32], count: Int) throws -> [Int] {
        let modes = try isMode(states, count: count)
        let index = enumeratedStateCount != nil ? stateIndex(states, count: count) : [Int](repeating: 0, count: count)
        return (0..<count).map { modes[$0] ? index[$0] : -1 }
    }

    /// Whether exit is valid at each state (the state can be a terminal object x) → `[count]`.
    public func isTerminating(_ states: [Int32], count: Int) -> [Bool] {
        let a = actionCount
        let mask = forwardMask(states, count: count)
        return (0..<count).map { mask[$0 * a + a - 1] }
    }
}

/// `count` independent uniform draws in `0..<bound` from a generator seeded with `seed` (seeded mode
/// sets and energies of the built-in environments).
func seededDraws(_ count: Int, below bound: Int, seed: UInt64) -> [Int] {
    var rng = RandomGenerator(seed: seed)
    return (0..<count).map { _ in rng.nextInt(below: bound) }
}
