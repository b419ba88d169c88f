import FlowTensor

// Replay buffers in GFlowNet checkpoints. Every stored item is written as its forward action path from s₀
// (exit last); loading replays each path through the environment with every action checked against the
// forward mask, so only states the environment itself produced enter the buffer. Backward-kind items
// (terminal states only) are written with a deterministic path to them (the first allowed parent at each
// step back). Metadata: flowgen.replay_kind (name), replay_capacity, replay_ratio (Float bit pattern),
// replay_next (FIFO position); tensors: replay.lengths [k] (actions per item), replay.actions [Σ lengths],
// replay.log_reward_bits [k, 4] (each log R as four 16-bit words, low first: exact).
extension GFlowNetTrainer {
    /// The states s₀ … visited by `actions` from s₀, flattened (the exit action, allowed only last when
    /// `exitLast`, adds none); nil if an action is out of range or not allowed where it is taken.
    func statesAlong(_ actions: ArraySlice<Int>, exitLast: Bool) -> [Int32]? {
        let env = environment, exit = env.actionCount - 1
        var state = env.initialState, states = state
        for (i, action) in actions.enumerated() {
            let last = i == actions.count - 1
            guard action >= 0, action <= exit, (action == exit) == (exitLast && last), i < env.maxTrajectoryLength,
                  env.forwardMask(state, count: 1)[action] else { return nil }
            if action == exit { break }
            state = env.step(state, actions: [action], count: 1)
            states += state
        }
        return states
    }

    /// A forward action path from s₀ to the terminal state `x` (first allowed parent at each step back),
    /// exit last.
    func deterministicPath(to x: [Int32]) -> [Int] {
        let env = environment, parents = env.actionCount - 1
        var state = x, reversed: [Int] = []
        while reversed.count <= env.maxTrajectoryLength {
            let mask = env.backwardMask(state, count: 1)
            guard let b = (0..<parents).first(where: { mask[$0] }) else { break }
            state = env.backwardStep(state, actions: [b], count: 1)
            reversed.append(b)
        }
        return reversed.reversed() + [env.actionCount - 1]
    }

    /// Metadata and tensors of the replay buffer (none without one).
    func replayCheckpoint() -> (metadata: [String: String], tensors: [(String, Tensor)]) {
        guard let replay else { return ([:], []) }
        let items = replay.contents.items
        let paths = items.map { replay.configuration.kind == .backward ? deterministicPath(to: $0.states) : $0.actions }
        let bits = items.flatMap { item -> [Float] in
            let b = item.logReward.bitPattern
            return (0..<4).map { Float((b >> (16 * UInt64($0))) & 0xFFFF) }
        }
        let metadata = ["flowgen.replay_kind": replay.configuration.kind.name,
                        "flowgen.replay_capacity": String(replay.configuration.capacity),
                        "flowgen.replay_ratio": String(replay.configuration.ratio.bitPattern),
                        "flowgen.replay_next": String(replay.contents.next)]
        return (metadata, [("replay.lengths", Tensor(shape: [items.count], scalars: paths.map { Float($0.count) })),
                           ("replay.actions", Tensor(shape: [paths.reduce(0) { $0 + $1.count }], scalars: paths.flatMap { $0.map(Float.init) })),
                           ("replay.log_reward_bits", Tensor(shape: [items.count, 4], scalars: bits))])
    }

    /// Rebuilds the replay buffer from a checkpoint (absent metadata = no buffer). Returns a problem or nil.
    func restoreReplay(from file: SafeTensorsFile) -> String? {
        let meta = file.metadata
        guard let kindName = meta["flowgen.replay_kind"] else {
            return file.tensors.contains { $0.name.hasPrefix("replay.") } ? "replay tensors without replay metadata" : nil
        }
        guard let kind = ReplayKind(name: kindName), let capacity = Int(meta["flowgen.replay_capacity"] ?? ""),
              let ratioBits = UInt32(meta["flowgen.replay_ratio"] ?? ""), let next = Int(meta["flowgen.replay_next"] ?? "") else {
            return "replay metadata is incomplete or malformed"
        }
        let config = ReplayConfiguration(kind: kind, capacity: capacity, ratio: Float(bitPattern: ratioBits))
        if let problem = config.problem { return "replay: \(problem)" }
        guard configuration.maxRolloutSteps == 0 else { return "replay buffer together with truncated rollouts" }
        guard let lengths = file.tensor(named: "replay.lengths"), lengths.rank == 1,
              let actions = file.tensor(named: "replay.actions"), actions.rank == 1,
              let bits = file.tensor(named: "replay.log_reward_bits"), bits.shape == [lengths.count, 4] else {
            return "replay tensors are missing or mis-shaped"
        }
        let k = lengths.count
        guard k <= capacity, next >= 0, next < capacity, kind == .prioritized || k == capacity || next == 0 else {
            return "replay holds \(k) items at position \(next) for capacity \(capacity)"
        }
        func integers(_ t: Tensor, in range: ClosedRange<Int>) -> [Int]? {
            var out: [Int] = []
            out.reserveCapacity(t.count)
            for v in t.scalars {
                guard v.isFinite, v == v.rounded(), let i = Int(exactly: v), range.contains(i) else { return nil }
                out.append(i)
            }
            return out
        }
        let longest = environment.maxTrajectoryLength + 1
        guard let counts = integers(lengths, in: 1...longest), counts.reduce(0, +) == actions.count,
              let allActions = integers(actions, in: 0...(environment.actionCount - 1)),
              let words = integers(bits, in: 0...0xFFFF) else {
            return "replay lengths, actions or rewards are not valid integers"
        }
        let buffer = ReplayBuffer(config)
        let dim = environment.stateDimension
        var offset = 0
        for i in 0..<k {
            let path = allActions[offset..<(offset + counts[i])]
            offset += counts[i]
            guard let states = statesAlong(path, exitLast: true) else { return "replay item \(i) is not a valid trajectory" }
            let w = words[(4 * i)..<(4 * i + 4)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (16 * UInt64($1.offset)) }
            let logReward = Double(bitPattern: w)
            guard !logReward.isNaN, logReward < .infinity else { return "replay item \(i) has an invalid log reward" }
            buffer.contents.items.append(kind == .backward
                ? StoredTrajectory(states: Array(states.suffix(dim)), actions: [], logReward: logReward)
                : StoredTrajectory(states: states, actions: Array(path), logReward: logReward))
        }
        buffer.contents.next = next
        replay = buffer
        return nil
    }
}
