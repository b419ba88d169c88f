import XCTest
import FlowGen
import _FlowGenTestSupport

/// NBFNet: the fused DistMult + PNA aggregation against explicitly materialised messages and finite
/// differences, the 85/5/10 split, average precision by hand, and learning on a small community graph.
final class NBFNetTests: XCTestCase {
    /// Path 0–1–2 plus edge 1–3 and an isolated node 4.
    func smallGraph() throws -> Graph { try Graph(nodeCount: 5, edges: [(0, 1), (1, 2), (1, 3)]) }

    func testPNAAggregationMatchesExplicitMessages() throws {
        let g = try smallGraph(), batch = 2, d = 3, n = 5
        for (relations, selfLoops) in [(2, false), (1, true), (1, false)] {
            let adjacency = selfLoops ? g.selfLoopAdjacency() : g.adjacency
            let h = testTensor([n * batch, d], seed: 1), w = testTensor([relations, d], seed: 2)
            var beta = Tensor(zeros: [n * batch, d])
            let q = testTensor([d], seed: 3).scalars
            beta.withUnsafeMutableBufferPointer { p in for c in 0..<d { p[(4 * batch + 0) * d + c] = q[c]; p[(0 * batch + 1) * d + c] = q[c] } }
            let out = pnaDistMultAggregate(Variable(h), relations: Variable(w), boundary: Variable(beta), adjacency: adjacency, batch: batch).value.scalars
            let hs = h.scalars, ws = w.scalars, bs = beta.scalars
            for v in 0..<n {
                for b in 0..<batch {
                    for c in 0..<d {
                        var messages = [bs[(v * batch + b) * d + c]]
                        for x in 0..<n where g.hasEdge(v, x) || (selfLoops && x == v) {
                            for r in 0..<relations { messages.append(hs[(x * batch + b) * d + c] * ws[r * d + c]) }
                        }
                        let mean = messages.reduce(0, +) / Float(messages.count)
                        let variance = messages.reduce(0) { $0 + $1 * $1 } / Float(messages.count) - mean * mean
                        let row = (v * batch + b) * 4 * d
                        XCTAssertEqual(out[row + c], mean, accuracy: 1e-5)
                        XCTAssertEqual(out[row + d + c], messages.max()!, accuracy: 1e-6)
                        XCTAssertEqual(out[row + 2 * d + c], messages.min()!, accuracy: 1e-6)
                        XCTAssertEqual(out[row + 3 * d + c], Swift.max(variance, 1e-6).squareRoot(), accuracy: 1e-4)
                    }
                }
            }
        }
    }

    func testPNAAggregationGradients() throws {
        let g = try smallGraph()
        var beta = testTensor([10, 3], seed: 6)
        beta.withUnsafeMutableBufferPointer { p in for i in 3..<30 { p[i] = 0 } }   // boundary on (node 0, run 0) only
        for relations in 1...2 {
            assertGradientsMatchFiniteDifferences([testTensor([10, 3], seed: 4), testTensor([relations, 3], seed: 5), beta],
                                                  step: 1e-3, rtol: 3e-2, atol: 5e-3) { v in
                pnaDistMultAggregate(v[0], relations: v[1], boundary: v[2], adjacency: g.adjacency, batch: 2)
            }
        }
    }

    /// Parameter gradients in the authors' homogeneous setting (one relation, self loops) and with a separate
    /// inverse relation (no self loops).
    func testNBFNetParameterGradients() throws {
        let g = try smallGraph()
        for (relations, adjacency) in [(1, g.selfLoopAdjacency()), (2, g.adjacency)] {
            var rng = RandomGenerator(seed: 9)
            let model = NBFNet(dimension: 4, layers: 2, relations: relations, rng: &rng)
            let report = gradientCheck(parameters: model.parameters, step: 1e-3, rtol: 5e-2, atol: 5e-3) {
                model.logits(sources: [0, 3], queries: [(0, 2), (1, 4), (1, 0), (0, 0)], adjacency: adjacency)
            }
            XCTAssertTrue(report.passed, "relations \(relations): \(report)")
        }
    }

    func testAveragePrecisionAndRandomSplit() throws {
        // Ranking +, −, +, −: AP = (1/2)(1/1) + (1/2)(2/3).
        XCTAssertEqual(try LinkMetrics.averagePrecision(positive: [4, 2], negative: [3, 1]), 0.5 + 0.5 * 2 / 3, accuracy: 1e-12)
        XCTAssertEqual(try LinkMetrics.averagePrecision(positive: [5, 4], negative: [1]), 1)
        // A tie between a positive and a negative enters as one threshold: precision 1/2 at recall 1.
        XCTAssertEqual(try LinkMetrics.averagePrecision(positive: [2], negative: [2]), 0.5)
        let g = try communityGraph(seed: 1)
        let split = try LinkSplit.random(graph: g, validationFraction: 0.05, testFraction: 0.1, seed: 3)
        let m = g.edgeCount
        XCTAssertEqual(split.testPositives.count, m / 10)
        XCTAssertEqual(split.validationPositives.count, m / 20)
        XCTAssertEqual(split.testNegatives.count, split.testPositives.count)
        XCTAssertEqual(split.validationNegatives.count, split.validationPositives.count)
        XCTAssertEqual(split.messagePassingGraph.edgeCount, m - m / 10 - m / 20)
        XCTAssertThrowsError(try LinkSplit.random(graph: g, validationFraction: 0.5, testFraction: 0.5, seed: 0))
    }

    /// Four communities of 20 nodes: dense inside (p = 0.35), sparse across (p = 0.01).
    func communityGraph(seed: UInt64) throws -> Graph {
        var rng = RandomGenerator(seed: seed)
        var edges: [(Int, Int)] = []
        for u in 0..<80 { for v in (u + 1)..<80 where rng.nextUniform() < (u / 20 == v / 20 ? 0.35 : 0.01) { edges.append((u, v)) } }
        return try Graph(nodeCount: 80, edges: edges)
    }

    func testNBFNetLearnsCommunityLinks() throws {
        let g = try communityGraph(seed: 2)
        let split = try LinkSplit.random(graph: g, validationFraction: 0.05, testFraction: 0.15, seed: 0)
        var c = NBFNetTrainer.Configuration()
        c.dimension = 16; c.layers = 3; c.epochs = 4; c.batchSize = 16; c.hitsK = 10
        let trainer = try NBFNetTrainer(graph: g, configuration: c)
        var losses: [Float] = []
        let result = try trainer.fit(split: split) { _, _, loss in losses.append(loss); return true }
        XCTAssertEqual(losses.count, 4)
        XCTAssertLessThan(losses.last!, losses.first!)
        // Test negatives are mostly cross-community pairs: a trained NBFNet separates them well.
        XCTAssertGreaterThan(result.testAUROC, 0.85, "AUROC \(result.testAUROC)")
        XCTAssertGreaterThan(result.testAveragePrecision, 0.8, "AP \(result.testAveragePrecision)")
        XCTAssertGreaterThan(result.epochSeconds, 0)
        // Scores are deterministic for a seed.
        let again = try NBFNetTrainer(graph: g, configuration: c)
        XCTAssertEqual(try again.fit(split: split).testAUROC, result.testAUROC)
    }

    /// Symmetric scoring averages the target's state in the source's run with the source's state in the
    /// target's run; one-sided scoring equals `logits`; gradients of the symmetric logits (self loops, one
    /// relation) match finite differences.
    func testSymmetricPairLogits() throws {
        let g = try smallGraph()
        let a = g.selfLoopAdjacency()
        var rng = RandomGenerator(seed: 13)
        let model = NBFNet(dimension: 4, layers: 2, relations: 1, rng: &rng)
        let pairs = NodePairs(sources: [0, 3, 0], targets: [2, 4, 1])
        let oneSided = model.pairLogits(pairs, adjacency: a, symmetric: false).value.scalars
        let direct = model.logits(sources: [0, 3], queries: [(0, 2), (1, 4), (0, 1)], adjacency: a).value.scalars
        for k in 0..<3 { XCTAssertEqual(oneSided[k], direct[k], accuracy: 1e-5) }
        let symmetric = model.pairLogits(pairs, adjacency: a, symmetric: true).value.scalars
        for k in 0..<pairs.count {
            let u = pairs.sources[k], v = pairs.targets[k]
            let hu = model.representations(sources: [u], adjacency: a), hv = model.representations(sources: [v], adjacency: a)
            let mean = (hu.indexSelect(axis: 0, indices: [v]) + hv.indexSelect(axis: 0, indices: [u])) * 0.5
            XCTAssertEqual(symmetric[k], model.score(mean).value.scalars[0], accuracy: 1e-5, "average of both runs, pair \(k)")
            let rebuilt = model.pairLogits(NodePairs(sources: [u], targets: [v]), adjacency: a, symmetric: true).value.scalars[0]
            XCTAssertEqual(symmetric[k], rebuilt, accuracy: 1e-5, "batched vs single pair \(k)")
            let swapped = model.pairLogits(NodePairs(sources: [v], targets: [u]), adjacency: a, symmetric: true).value.scalars[0]
            XCTAssertEqual(symmetric[k], swapped, accuracy: 1e-5, "symmetric in (u, v) for pair \(k)")
        }
        let scores = model.scores(pairs, adjacency: a, batch: 2, symmetric: true)
        for k in 0..<3 { XCTAssertEqual(scores[k], symmetric[k], accuracy: 1e-5) }
        // A smaller step than elsewhere: the runs from the isolated node 4 and the leaves give many equal
        // states, and differences of 1e-3 straddle max/min switches (1e-4 passes for every seed tried).
        let report = gradientCheck(parameters: model.parameters, step: 1e-4, rtol: 5e-2, atol: 5e-3) {
            model.pairLogits(pairs, adjacency: a, symmetric: true)
        }
        XCTAssertTrue(report.passed, "\(report)")
    }

    /// Strict negatives are non-edges, u ≠ v, reproducible for a seed, and drawn uniformly over ordered
    /// non-edges (checked on a star, where the centre has no non-neighbour).
    func testStrictNegatives() throws {
        let star = try Graph(nodeCount: 5, edges: [(0, 1), (0, 2), (0, 3), (0, 4)])
        var rng = RandomGenerator(seed: 3)
        let draws = try sampleStrictNegatives(of: star, count: 12_000, rng: &rng)
        XCTAssertEqual(draws.count, 12_000)
        var counts: [Int: Int] = [:]
        for k in 0..<draws.count {
            let u = draws.sources[k], v = draws.targets[k]
            XCTAssertNotEqual(u, v); XCTAssertFalse(star.hasEdge(u, v)); XCTAssertNotEqual(u, 0); XCTAssertNotEqual(v, 0)
            counts[u * 5 + v, default: 0] += 1
        }
        // 12 ordered non-edges among the leaves, 1000 draws each expected (binomial std ≈ 30).
        XCTAssertEqual(counts.count, 12)
        for (_, c) in counts { XCTAssertEqual(Double(c), 1000, accuracy: 150) }
        var again = RandomGenerator(seed: 3)
        XCTAssertEqual(try sampleStrictNegatives(of: star, count: 12_000, rng: &again), draws)
        let complete = try Graph(nodeCount: 3, edges: [(0, 1), (0, 2), (1, 2)])
        XCTAssertThrowsError(try sampleStrictNegatives(of: complete, count: 1, rng: &rng))
    }

    /// Splitting a step's pairs into several Bellman–Ford passes accumulates the same gradient as one pass.
    func testPassSplittingMatchesOnePass() throws {
        let g = try communityGraph(seed: 4)
        let split = try LinkSplit.random(graph: g, validationFraction: 0.05, testFraction: 0.15, seed: 1)
        var c = NBFNetTrainer.Configuration()
        c.dimension = 8; c.layers = 2; c.epochs = 1; c.batchSize = 12; c.hitsK = 10; c.runsPerPass = 64
        var whole: [Float] = [], parts: [Float] = []
        _ = try NBFNetTrainer(graph: g, configuration: c).fit(split: split) { _, _, loss in whole.append(loss); return true }
        c.runsPerPass = 8
        _ = try NBFNetTrainer(graph: g, configuration: c).fit(split: split) { _, _, loss in parts.append(loss); return true }
        XCTAssertEqual(whole.count, 1); XCTAssertEqual(parts.count, 1)
        XCTAssertEqual(whole[0], parts[0], accuracy: 1e-4 * Swift.max(1, abs(whole[0])))
    }
}
