import XCTest
import FlowGen

/// dx/dt = 12 t³ − x (contractive, with a drift that is flat early and steep late, so equal steps waste
/// effort): x(1) = x(0)/e + 72/e − 24.
private func lateStiffField(_ x: Tensor, _ t: Double) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    let a = Float(12 * t * t * t), p = x.storage.pointer, o = out.storage.pointer
    for i in 0..<x.count { o[i] = a - p[i] }
    return withExtendedLifetime(x) { out }
}

final class StepScheduleTests: XCTestCase {
    func testBellmanShortestPathMatchesBruteForce() {
        var rng = RandomGenerator(seed: 4)
        let nodes = 10
        var costs = [[Double]](repeating: [Double](repeating: 0, count: nodes), count: nodes)
        for i in 0..<nodes { for j in (i + 1)..<nodes { costs[i][j] = Double(rng.nextUniform()) * Double(j - i) } }
        /// Cheapest increasing path 0 → nodes−1 with exactly k jumps, by enumerating every subset of inner nodes.
        func bruteForce(_ k: Int) -> Double {
            var best = Double.infinity
            for mask in 0..<(1 << (nodes - 2)) where mask.nonzeroBitCount == k - 1 {
                let path = [0] + (1..<(nodes - 1)).filter { mask & (1 << ($0 - 1)) != 0 } + [nodes - 1]
                best = Swift.min(best, zip(path, path.dropFirst()).reduce(0) { $0 + costs[$1.0][$1.1] })
            }
            return best
        }
        for k in 1...(nodes - 1) {
            let (path, cost) = bellmanShortestPath(costs: costs, steps: k)
            XCTAssertEqual(path.count, k + 1)
            XCTAssertEqual(path.first, 0); XCTAssertEqual(path.last, nodes - 1)
            XCTAssertTrue(zip(path, path.dropFirst()).allSatisfy { $0 < $1 })
            XCTAssertEqual(cost, zip(path, path.dropFirst()).reduce(0) { $0 + costs[$1.0][$1.1] }, accuracy: 1e-12)
            XCTAssertEqual(cost, bruteForce(k), accuracy: 1e-12, "k = \(k)")
        }
    }

    func testBellmanScheduleBeatsEqualStepsOnALateStiffField() throws {
        var rng = RandomGenerator(seed: 1)
        let x0 = rng.normal([64, 2])
        let exact = x0.scalars.map { $0 / Float(M_E) + Float(72 / M_E - 24) }
        func error(_ grid: [Double]?, steps: Int) throws -> (Double, Int) {
            var o = ODEOptions()
            o.steps = steps; o.timeGrid = grid
            let s = try odeSolve(lateStiffField, x0: x0, from: 0, to: 1, method: .euler, options: o)
            let e = zip(s.state.scalars, exact).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +)
            return ((e / 64).squareRoot(), s.nfe)
        }
        for k in [2, 4, 5, 10] {
            let schedule = try bellmanStepSchedule(lateStiffField, x0: x0, steps: k, fineSteps: 100)
            XCTAssertEqual(schedule.times.count, k + 1)
            XCTAssertEqual(schedule.times.first, 0); XCTAssertEqual(schedule.times.last, 1)
            XCTAssertTrue(zip(schedule.times, schedule.times.dropFirst()).allSatisfy { $0 < $1 })
            // Equal steps are one of the candidates the DP minimises over.
            let uniform = try XCTUnwrap(schedule.uniformCost)
            XCTAssertLessThanOrEqual(schedule.cost, uniform + 1e-9)
            // Steps concentrate where the field is steep (late), and the end state is closer to the exact one.
            XCTAssertGreaterThan(schedule.times[1], 1 / Double(k), "first step longer than an equal one, k = \(k)")
            let (bellman, nfe) = try error(schedule.times, steps: 999)
            let (equal, _) = try error(nil, steps: k)
            XCTAssertEqual(nfe, k)
            XCTAssertLessThan(bellman, 0.8 * equal, "k = \(k): Bellman \(bellman) vs equal steps \(equal)")
        }
        XCTAssertNil(try bellmanStepSchedule(lateStiffField, x0: x0, steps: 3, fineSteps: 100).uniformCost)
    }

    func testTimeGridsRunBackwardsAndBadGridsAreErrors() throws {
        var rng = RandomGenerator(seed: 2)
        let x0 = rng.normal([8, 2])
        var o = ODEOptions()
        o.timeGrid = [0, 0.5, 0.9, 1]
        o.recordTrajectory = true
        let forward = try odeSolve(lateStiffField, x0: x0, from: 0, to: 1, method: .heun, options: o)
        XCTAssertEqual(forward.times, [0, 0.5, 0.9, 1])
        XCTAssertEqual(forward.nfe, 6)
        let back = try odeSolve(lateStiffField, x0: forward.state, from: 1, to: 0, method: .heun, options: o)
        XCTAssertEqual(back.times, [1, 0.9, 0.5, 0])
        for bad: [Double] in [[0], [0, 0.5], [0.1, 1], [0, 0.6, 0.6, 1], [0, .nan, 1], [0, 0.7, 0.3, 1]] {
            o.timeGrid = bad
            XCTAssertThrowsError(try odeSolve(lateStiffField, x0: x0, from: 0, to: 1, method: .euler, options: o), "\(bad)")
        }
        o.timeGrid = [0, 1]
        XCTAssertThrowsError(try odeSolve(lateStiffField, x0: x0, from: 0, to: 1, method: .dopri5, options: o))
        XCTAssertThrowsError(try bellmanStepSchedule(lateStiffField, x0: x0, steps: 0))
        XCTAssertThrowsError(try bellmanStepSchedule(lateStiffField, x0: x0, steps: 101, fineSteps: 100))
        XCTAssertThrowsError(try bellmanStepSchedule(lateStiffField, x0: x0, steps: 2, from: 1, to: 0))
    }
}

final class StraighteningTests: XCTestCase {
    func testStraighteningPullsTwoEulerStepsOntoTheOriginalFlow() throws {
        var c = FlowMatcher.Configuration(dim: 2)
        c.method = .icfm; c.seed = 0
        let matcher = FlowMatcher(c)
        var rng = RandomGenerator(seed: 5)
        try matcher.fit(target: ToyDistribution.eightGaussians.sample(4000, rng: &rng), steps: 1500)
        var fine = ODEOptions()
        fine.steps = 100
        let target = try matcher.sample(500, seed: 9, method: .euler, options: fine).state
        let schedule = try matcher.bellmanSchedule(steps: 2, seed: 1)
        var coarse = ODEOptions()
        coarse.timeGrid = schedule.times
        func error() throws -> Double {
            let x = try matcher.sample(500, seed: 9, method: .euler, options: coarse).state
            return (zip(x.scalars, target.scalars).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +) / 500).squareRoot()
        }
        let before = try error(), step = matcher.step
        try matcher.straighten(times: schedule.times, steps: 400, trajectories: 2048, seed: 3)
        XCTAssertEqual(matcher.step, step + 400)
        let after = try error()
        XCTAssertLessThan(after, 0.5 * before, "RMS distance to the 100-step samples: \(before) → \(after)")
        XCTAssertThrowsError(try matcher.straighten(times: [0, 0.5], steps: 1))
        XCTAssertThrowsError(try matcher.straighten(times: [0, 1], steps: 0))
    }
}

final class CostGuidanceTests: XCTestCase {
    func testAQuadraticCostPullsSamplesToItsCentre() throws {
        var c = FlowMatcher.Configuration(dim: 2)
        c.method = .icfm
        let matcher = FlowMatcher(c)
        var rng = RandomGenerator(seed: 5)
        try matcher.fit(target: ToyDistribution.eightGaussians.sample(4000, rng: &rng), steps: 1500)
        var o = ODEOptions()
        o.steps = 50
        let centre: [Float] = [5, 0]
        func near(_ x: Tensor) -> Double {
            let p = x.scalars
            return Double((0..<(p.count / 2)).filter { hypot(p[2 * $0] - centre[0], p[2 * $0 + 1] - centre[1]) < 2 }.count) / Double(p.count / 2)
        }
        let gradient: (Tensor) throws -> Tensor = { x in
            let g = Tensor(uninitialized: x.shape), px = x.storage.pointer, pg = g.storage.pointer
            for i in 0..<x.count { pg[i] = px[i] - centre[i % 2] }
            return withExtendedLifetime(x) { g }
        }
        let plain = try matcher.sample(1000, seed: 3, method: .euler, options: o).state
        let unguided = try matcher.sampleGuidedByCost(1000, seed: 3, scale: 0, costGradient: gradient, method: .euler, options: o).state
        XCTAssertEqual(unguided.scalars, plain.scalars)
        let guided = try matcher.sampleGuidedByCost(1000, seed: 3, scale: 2, costGradient: gradient, method: .euler, options: o)
        XCTAssertEqual(guided.nfe, 50)
        XCTAssertLessThan(near(plain), 0.25)
        XCTAssertGreaterThan(near(guided.state), 0.6)
        struct Down: Error {}
        XCTAssertThrowsError(try matcher.sampleGuidedByCost(10, seed: 3, scale: 1, costGradient: { _ in throw Down() }, method: .euler))
    }
}
