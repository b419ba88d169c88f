import FlowTensor
import FlowAutodiff
#if canImport(Glibc)
import Glibc
#endif

/// What a replay buffer stores and how it replays it.
public enum ReplayKind: UInt32, CaseIterable, Sendable {
    /// Whole trajectories, drawn uniformly; FIFO when full.
    case trajectory = 0
    /// Terminal states only, re-expanded into trajectories with the current P_B (backward sampling)
    /// each time they are replayed; drawn uniformly; FIFO when full.
    case backward = 1
    /// Whole trajectories drawn with probability ∝ R(x); when full, a new trajectory replaces the
    /// lowest-reward one if its reward is higher (keeps the best trajectories seen).
    case prioritized = 2

    /// "trajectory", "backward", "prioritized".
    public var name: String { ["trajectory", "backward", "prioritized"][Int(rawValue)] }
    public init?(name: String) {
        guard let i = ["trajectory", "backward", "prioritized"].firstIndex(of: name.lowercased()) else { return nil }
        self.init(rawValue: UInt32(i))
    }
}

/// Replay settings: each training batch holds round(ratio · batch) replayed trajectories (as many as
/// the buffer has) and fresh ones for the rest; fresh trajectories are then added to the buffer.
public struct ReplayConfiguration: Equatable, Sendable {
    public var kind: ReplayKind
    /// Most stored items (≥ 1).
    public var capacity: Int
    /// Fraction of each batch taken from the buffer, in [0, 1).
    public var ratio: Float

    public init(kind: ReplayKind = .trajectory, capacity: Int, ratio: Float = 0.5) {
        self.kind = kind; self.capacity = capacity; self.ratio = ratio
    }

    /// The first invalid field, or nil.
    public var problem: String? {
        if capacity < 1 || capacity > 1 << 24 { return "replay capacity must be in 1…2^24, got \(capacity)" }
        if !(ratio >= 0 && ratio < 1) { return "replay ratio must be in [0, 1), got \(ratio)" }
        return nil
    }
}

/// One stored trajectory: states s₀ … s_{n−1} = x (`[n, stateDimension]`) with the action taken at each
/// (the last is exit), and log R(x). Backward-kind items hold only x (n = 1, no actions).
struct StoredTrajectory {
    var states: [Int32]
    var actions: [Int]
    var logReward: Double
}

/// A replay buffer of a `GFlowNetTrainer` (set `trainer.replay`). Losses on replayed trajectories
/// always use the current policy's log-probabilities (they are recomputed; nothing stale is stored).
/// Saved and restored with the trainer's checkpoint (ReplayBuffer+Checkpoint.swift).
public final class ReplayBuffer {
    public let configuration: ReplayConfiguration
    struct Contents {
        var items: [StoredTrajectory] = []
        var next = 0
    }
    var contents = Contents()

    /// Precondition: `configuration.problem == nil`.
    public init(_ configuration: ReplayConfiguration) {
        precondition(configuration.problem == nil, configuration.problem ?? "")
        self.configuration = configuration
    }

    /// Items stored.
    public var count: Int { contents.items.count }
    /// log R of the stored items (storage order).
    public var storedLogRewards: [Double] { contents.items.map(\.logReward) }

    func add(_ trajectories: [StoredTrajectory], stateDimension dim: Int) {
        let cap = configuration.capacity
        for var item in trajectories {
            if configuration.kind == .backward {
                item = StoredTrajectory(states: Array(item.states.suffix(dim)), actions: [], logReward: item.logReward)
            }
            if contents.items.count < cap {
                contents.items.append(item)
            } else if configuration.kind == .prioritized {
                var worst = 0
                for i in 1..<contents.items.count where contents.items[i].logReward < contents.items[worst].logReward { worst = i }
                if item.logReward > contents.items[worst].logReward { contents.items[worst] = item }
            } else {
                contents.items[contents.next] = item
                contents.next = (contents.next + 1) % cap
            }
        }
    }

    /// k items drawn with replacement (uniformly, or ∝ R for the prioritized kind).
    func draw(_ k: Int, rng: inout RandomGenerator) -> [StoredTrajectory] {
        let items = contents.items
        guard !items.isEmpty, k > 0 else { return [] }
        if configuration.kind != .prioritized {
            return (0..<k).map { _ in items[Swift.min(items.count - 1, Int(rng.nextUniformDouble() * Double(items.count)))] }
        }
        let best = items.map(\.logReward).max() ?? 0
        var cumulative = [Double](repeating: 0, count: items.count)
        var total = 0.0
        for (i, item) in items.enumerated() { total += exp(item.logReward - best); cumulative[i] = total }
        return (0..<k).map { _ in
            let u = rng.nextUniformDouble() * total
            var lo = 0, hi = items.count - 1
            while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] > u { hi = mid } else { lo = mid + 1 } }
            return items[lo]
        }
    }
}

extension TrajectoryBatch {
    /// The batch split into per-trajectory items.
    func storedTrajectories(stateDimension dim: Int) -> [StoredTrajectory] {
        var out = (0..<batchSize).map { b in
            StoredTrajectory(states: [], actions: [], logReward: logRewards[b])
        }
        for b in 0..<batchSize {
            out[b].states.reserveCapacity(lengths[b] * dim)
            out[b].actions.reserveCapacity(lengths[b])
        }
        // Rows are in time order within each trajectory.
        for r in 0..<rows.count {
            let b = rows.trajectories[r]
            out[b].states += rows.states[(r * dim)..<((r + 1) * dim)]
            out[b].actions.append(rows.actions[r])
        }
        return out
    }

    /// A batch assembled from complete stored trajectories.
    init(stored: [StoredTrajectory], stateDimension dim: Int) {
        var rows = VisitedRows()
        var lengths: [Int] = [], terminal: [Int32] = []
        for (b, item) in stored.enumerated() {
            let n = item.actions.count
            lengths.append(n)
            rows.states += item.states
            rows.times += Array(0..<n)
            rows.trajectories += [Int](repeating: b, count: n)
            rows.actions += item.actions
            rows.previousActions += [-1] + Array(item.actions.prefix(n - 1))
            terminal += item.states.suffix(dim)
        }
        self.init(batchSize: stored.count, maxLength: lengths.max() ?? 0, rows: rows, lengths: lengths,
                  terminalStates: terminal, logRewards: stored.map(\.logReward))
    }
}

extension GFlowNetTrainer {
    /// Complete trajectories ending at the terminal states `terminals` `[k, dim]`, sampled backwards
    /// with the current P_B (learned head, or uniform over parents) until s₀.
    func backwardTrajectories(_ terminals: [StoredTrajectory], rng: inout RandomGenerator) throws -> [StoredTrajectory] {
        let env = environment, dim = env.stateDimension, a = env.actionCount
        let k = terminals.count
        var paths = terminals.map { [$0.states] }          // reversed state lists
        var backActions = [[Int]](repeating: [], count: k)
        var active = Array(0..<k)
        var current = terminals.flatMap(\.states)
        var steps = 0
        while !active.isEmpty {
            let n = active.count
            let mask = env.backwardMask(current, count: n)
            var moving: [Int] = [], movingStates: [Int32] = [], movingRows: [Int] = []
            for r in 0..<n {
                let row = Array(current[(r * dim)..<((r + 1) * dim)])
                if (0..<(a - 1)).contains(where: { mask[r * (a - 1) + $0] }) {
                    moving.append(active[r]); movingStates += row; movingRows.append(r)
                } else if row != env.initialState {
                    try env.throwIfFailed()
                    throw GFlowNetError.invalidConfiguration("backward sampling reached \(row), which has no parents but is not s₀")
                }
            }
            if moving.isEmpty { break }
            guard steps < env.maxTrajectoryLength else {
                try env.throwIfFailed()
                throw GFlowNetError.invalidConfiguration("backward sampling exceeded the environment's maximum length \(env.maxTrajectoryLength)")
            }
            let m = moving.count
            let subMask = movingRows.flatMap { r in mask[(r * (a - 1))..<((r + 1) * (a - 1))] }
            let logits: Tensor
            if let column = estimator.backwardColumn {
                let output = withoutGradients { estimator(Variable(env.encodedTensor(movingStates, count: m))) }
                logits = output.slice(axis: 1, start: column, end: column + a - 1).value
            } else {
                logits = Tensor(zeros: [m, a - 1])
            }
            let chosen = sampleActions(logits: logits, actionCount: a - 1, mask: subMask, options: SamplingOptions(), rng: &rng)
            let parents = env.backwardStep(movingStates, actions: chosen, count: m)
            for (j, traj) in moving.enumerated() {
                paths[traj].append(Array(parents[(j * dim)..<((j + 1) * dim)]))
                backActions[traj].append(chosen[j])
            }
            active = moving
            current = parents
            steps += 1
        }
        try env.throwIfFailed()
        return (0..<k).map { i in
            // Forward: s₀ … x; forward action t is the backward action that led from s_{t+1} to s_t.
            StoredTrajectory(states: paths[i].reversed().flatMap { $0 }, actions: backActions[i].reversed() + [a - 1],
                             logReward: terminals[i].logReward)
        }
    }

    /// One trajectory from s₀ to `terminal` sampled backwards with the current P_B: its states
    /// s₀ … x `[n, stateDimension]` and forward actions (exit last), as replayed by `.backward` buffers.
    public func backwardTrajectory(to terminal: [Int32], rng: inout RandomGenerator) throws -> (states: [Int32], actions: [Int]) {
        precondition(terminal.count == environment.stateDimension, "terminal must hold stateDimension values")
        let t = try backwardTrajectories([StoredTrajectory(states: terminal, actions: [], logReward: 0)], rng: &rng)[0]
        return (t.states, t.actions)
    }

    /// The training batch of one step: fresh trajectories from the behaviour policy plus, with a
    /// non-empty replay buffer, replayed ones (fresh ones are then stored). Returns the recorded
    /// graph only for a purely fresh on-policy batch.
    func sampleTrainingBatch(onPolicy: Bool) throws -> (TrajectoryBatch, Variable?) {
        let b = configuration.batchSize
        guard let replay else {
            return try estimator.sampleTrajectories(environment: environment, batchSize: b, options: configuration.sampling,
                                                    rng: &rng, recordGraph: onPolicy)
        }
        let dim = environment.stateDimension
        let wanted = Int((replay.configuration.ratio * Float(b)).rounded())
        let replayed = Swift.min(wanted, replay.count, b - 1)
        let (fresh, recorded) = try estimator.sampleTrajectories(environment: environment, batchSize: b - replayed,
                                                                 options: configuration.sampling, rng: &rng,
                                                                 recordGraph: onPolicy && replayed == 0)
        let freshItems = fresh.storedTrajectories(stateDimension: dim)
        guard replayed > 0 else {
            replay.add(freshItems, stateDimension: dim)
            return (fresh, recorded)
        }
        var old = replay.draw(replayed, rng: &rng)
        if replay.configuration.kind == .backward { old = try backwardTrajectories(old, rng: &rng) }
        replay.add(freshItems, stateDimension: dim)
        return (TrajectoryBatch(stored: freshItems + old, stateDimension: dim), nil)
    }
}
