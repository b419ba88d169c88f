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
        let h = testTensor([n * batch, d], seed: 1), w = testTensor([2, d], seed: 2)
        var beta = Tensor(zeros: [n * batch, d])
        let q = testTensor([d], seed: 3).scalars
        beta.withUnsafeMutableBufferPointer { p in for c in 0..<d { p[(4 * batch + 0) * d + c] = q[c]; p[(0 * batch + 1) * d + c] = q[c] } }
        let out = pnaDistMultAggregate(Variable(h), relations: Variable(w), boundary: Variable(beta), adjacency: g.adjacency, batch: batch).value.scalars
        let hs = h.scalars, ws = w.scalars, bs = beta.scalars
        for v in 0..<n {
            for b in 0..<batch {
                for c in 0..<d {
                    var messages = [bs[(v * batch + b) * d + c]]
                    for x in 0..<n where g.hasEdge(v, x) { for r in 0..<2 { messages.append(hs[(x * batch + b) * d + c] * ws[r * d + c]) } }
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

    func testPNAAggregationGradients() throws {
        let g = try smallGraph()
        var beta = testTensor([10, 3], seed: 6)
        beta.withUnsafeMutableBufferPointer { p in for i in 3..<30 { p[i] = 0 } }   // boundary on (node 0, run 0) only
        assertGradientsMatchFiniteDifferences([testTensor([10, 3], seed: 4), testTensor([2, 3], seed: 5), beta],
                                              step: 1e-3, rtol: 3e-2, atol: 5e-3) { v in
            pnaDistMultAggregate(v[0], relations: v[1], boundary: v[2], adjacency: g.adjacency, batch: 2)
        }
    }

    func testNBFNetParameterGradients() throws {
        let g = try smallGraph()
        var rng = RandomGenerator(seed: 9)
        let model = NBFNet(dimension: 4, layers: 2, rng: &rng)
        let report = gradientCheck(parameters: model.parameters, step: 1e-3, rtol: 5e-2, atol: 5e-3) {
            model.logits(sources: [0, 3], queries: [(0, 2), (1, 4), (1, 0), (0, 0)], adjacency: g.adjacency)
        }
        XCTAssertTrue(report.passed, "\(report)")
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
}
