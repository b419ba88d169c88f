import FlowTensor
import FlowNN

/// A K-step time grid for Euler sampling chosen by dynamic programming, as BOSS's first phase (Nguyen,
/// Nguyen & Nguyen, "Bellman Optimal Step-size Straightening of Flow-Matching Models", ICLR 2024).
public struct StepSchedule: Sendable {
    /// K + 1 increasing times from t0 to t1 (use as `ODEOptions.timeGrid` with `.euler`).
    public var times: [Double]
    /// The schedule's cost: Σ over its steps of the mean squared distance between one Euler step and the
    /// fine-grid reference state it should reach (the quantity the schedule minimises).
    public var cost: Double
    /// The same cost for K equal steps, when the fine grid contains them (`fineSteps` divisible by K), else nil.
    public var uniformCost: Double?
}

/// The minimum-cost path of exactly `steps` jumps from node 0 to node F over nodes 0 … F (F = costs.count − 1)
/// with jumps i → j (i < j) costing `costs[i][j]`: Bellman's recursion dp_k(i) = min_{j > i} costs[i][j] +
/// dp_{k−1}(j), dp_1(i) = costs[i][F], in O(steps·F²). Returns the visited nodes (0 first, F last) and the
/// total cost. Requires 1 ≤ steps ≤ F and finite costs above the diagonal.
public func bellmanShortestPath(costs: [[Double]], steps: Int) -> (nodes: [Int], cost: Double) {
    let last = costs.count - 1
    precondition(last >= 1 && (1...last).contains(steps) && costs.allSatisfy { $0.count == costs.count },
                 "bellmanShortestPath: \(costs.count) nodes, \(steps) steps")
    // best[k][i]: cheapest way from i to `last` in exactly k jumps; next[k][i]: the first jump's target.
    var best = [[Double]](repeating: [Double](repeating: .infinity, count: last + 1), count: steps + 1)
    var next = [[Int]](repeating: [Int](repeating: -1, count: last + 1), count: steps + 1)
    best[0][last] = 0
    for k in 1...steps {
        // i needs k jumps to reach `last`, so i ≤ last − k; its first jump leaves k − 1 for the rest.
        for i in 0...(last - k) {
            for j in (i + 1)...(last - k + 1) where best[k - 1][j].isFinite {
                let c = costs[i][j] + best[k - 1][j]
                if c < best[k][i] { best[k][i] = c; next[k][i] = j }
            }
        }
    }
    var nodes = [0], node = 0
    for k in stride(from: steps, through: 1, by: -1) { node = next[k][node]; nodes.append(node) }
    return (nodes, best[steps][0])
}

/// BOSS's Bellman step schedule for Euler sampling of dx/dt = f(x, t) from t0 to t1 (t0 < t1): the calibration
/// batch x0 is integrated by Euler on `fineSteps` equal steps (the reference trajectory); the cost of a coarse
/// step from fine time i to j is the mean over rows of ‖x_i + (t_j − t_i) f(x_i, t_i) − x_j‖²; the K-step grid
/// on the fine times with the least total cost is found by `bellmanShortestPath`. Costs fineSteps evaluations
/// of f over the batch. Errors: `ODEError.invalidArgument` (steps outside 1 … fineSteps, t0 ≥ t1), and those
/// of `odeSolve`.
public func bellmanStepSchedule(_ f: (Tensor, Double) throws -> Tensor, x0: Tensor, steps: Int, fineSteps: Int = 100,
                                from t0: Double = 0, to t1: Double = 1) throws -> StepSchedule {
    guard fineSteps >= 1, (1...fineSteps).contains(steps) else {
        throw ODEError.invalidArgument("the schedule needs 1 ≤ steps ≤ fine steps, got \(steps) and \(fineSteps)")
    }
    guard t0.isFinite, t1.isFinite, t0 < t1 else { throw ODEError.invalidArgument("the schedule needs finite t0 < t1") }
    var options = ODEOptions()
    options.steps = fineSteps
    options.recordTrajectory = true
    // Euler evaluates f once per step, at states[j] and times[j] in order: keep those velocities.
    var velocities: [Tensor] = []
    velocities.reserveCapacity(fineSteps)
    let reference = try odeSolve({ x, t in
        let v = try f(x, t)
        velocities.append(v)
        return v
    }, x0: x0, from: t0, to: t1, method: .euler, options: options)
    let times = reference.times, states = reference.trajectory
    let rows = Swift.max(x0.shape.first ?? 1, 1), count = x0.count
    var costs = [[Double]](repeating: [Double](repeating: 0, count: fineSteps + 1), count: fineSteps + 1)
    for i in 0..<fineSteps {
        let xi = states[i].storage.pointer, vi = velocities[i].storage.pointer
        for j in (i + 1)...fineSteps {
            let h = Float(times[j] - times[i]), xj = states[j].storage.pointer
            var sum = 0.0
            for e in 0..<count { let d = xi[e] + h * vi[e] - xj[e]; sum += Double(d * d) }
            costs[i][j] = sum / Double(rows)
        }
    }
    let path = withExtendedLifetime((states, velocities)) { bellmanShortestPath(costs: costs, steps: steps) }
    var schedule = StepSchedule(times: path.nodes.map { times[$0] }, cost: path.cost, uniformCost: nil)
    schedule.times[0] = t0
    schedule.times[steps] = t1
    if fineSteps % steps == 0 {
        let stride = fineSteps / steps
        schedule.uniformCost = (0..<steps).reduce(0.0) { $0 + costs[$1 * stride][($1 + 1) * stride] }
    }
    return schedule
}

extension FlowMatcher {
    /// The Bellman step schedule (`bellmanStepSchedule`) of this model's flow from t = 0 to 1, calibrated on
    /// `calibration` source points x0 ~ N(0, I) drawn from `seed`. Sample with it by passing `times` as
    /// `ODEOptions.timeGrid` with `.euler`.
    public func bellmanSchedule(steps: Int, fineSteps: Int = 100, calibration: Int = 256, seed: UInt64 = 0) throws -> StepSchedule {
        guard calibration >= 1 else { throw ODEError.invalidArgument("the schedule needs at least 1 calibration point") }
        var g = RandomGenerator(seed: seed)
        let m = model
        return try bellmanStepSchedule({ x, t in m.velocity(x, t: t) }, x0: g.normal([calibration, dim]), steps: steps,
                                       fineSteps: fineSteps)
    }
}

extension FlowMatcher {
    /// BOSS's second phase ("straightening"): fine-tunes the field so that Euler on the schedule `times`
    /// reproduces the current model's own fine trajectories. `trajectories` source points x0 ~ N(0, I) from
    /// `seed` are integrated once by the current (frozen) model with Euler on `fineSteps` equal steps plus the
    /// schedule times; then each of `steps` AdamW steps draws `batchSize` (row, interval k) pairs and regresses
    /// v(x_{τ_k}, τ_k) onto (x_{τ_{k+1}} − x_{τ_k}) / (τ_{k+1} − τ_k) (mean squared error). Unconditional models
    /// with the N(0, I) source only. Call it once with all the steps needed: a second call takes the straightened
    /// weights as its new reference. Returns the last loss; `progress(step, total, loss)` returns false to stop.
    /// Errors: `ODEError.invalidArgument` (bad grid or sizes), `TrainingError` (non-finite loss, cancelled).
    @discardableResult
    public func straighten(times: [Double], steps: Int, trajectories: Int = 4096, fineSteps: Int = 100, seed: UInt64 = 0,
                           progress: ((Int, Int, Float) -> Bool)? = nil) throws -> Float {
        guard configuration.numClasses == 0, sourceIsStandardNormal else {
            throw ODEError.invalidArgument("straightening needs an unconditional model with the N(0, I) source")
        }
        guard times.count >= 2, times.allSatisfy(\.isFinite), zip(times, times.dropFirst()).allSatisfy({ $0 < $1 }),
              times.first == 0, times.last == 1 else {
            throw ODEError.invalidArgument("the schedule must hold finite, strictly increasing times from 0 to 1")
        }
        guard steps >= 1, trajectories >= 1, fineSteps >= 1 else {
            throw ODEError.invalidArgument("straightening needs steps, trajectories and fine steps ≥ 1")
        }
        // The reference: the current weights, frozen, on the union of the fine grid and the schedule.
        var initRNG = RandomGenerator(seed: 0)
        let frozen = TimeConditionedMLP(dim: dim, hiddenWidth: configuration.hiddenWidth, hiddenLayers: configuration.hiddenLayers,
                                        activation: configuration.activation, rng: &initRNG)
        try frozen.loadStateDict(model.stateDict())
        // The fine grid plus the schedule; fine times within 1e-9 of a schedule time (the same time computed
        // another way) are left out, so no step is a rounding error long.
        let fine = (0...fineSteps).map { Double($0) / Double(fineSteps) }
            .filter { t in !times.contains { Swift.abs($0 - t) < 1e-9 } }
        let grid = (fine + times).sorted()
        var options = ODEOptions()
        options.timeGrid = grid
        options.recordTrajectory = true
        var g = RandomGenerator(seed: seed)
        let reference = try odeSolve({ x, t in frozen.velocity(x, t: t) }, x0: g.normal([trajectories, dim]), from: 0, to: 1,
                                     method: .euler, options: options)
        let states = times.map { t in reference.trajectory[grid.firstIndex(of: t) ?? 0] }
        let intervals = times.count - 1, d = dim, b = configuration.batchSize
        return try optimize(steps: steps, progress: progress) {
            let x = Tensor(uninitialized: [b, d]), u = Tensor(uninitialized: [b, d])
            var t = [Float](repeating: 0, count: b)
            let px = x.storage.pointer, pu = u.storage.pointer
            for i in 0..<b {
                let row = rng.nextInt(below: trajectories), k = rng.nextInt(below: intervals)
                let from = states[k].storage.pointer + row * d, to = states[k + 1].storage.pointer + row * d
                let h = Float(times[k + 1] - times[k])
                t[i] = Float(times[k])
                for j in 0..<d { px[i * d + j] = from[j]; pu[i * d + j] = (to[j] - from[j]) / h }
            }
            return withExtendedLifetime(states) { meanSquaredError(predicted: model(x, times: t), expected: u) }
        }
    }
}
