import XCTest
import FlowGen
import _FlowGenTestSupport

/// Average precision, the NCNC neighbour split, NCN/NCNC training on Cora and link-predictor checkpoints.
final class NCNTests: XCTestCase {
    func cora() throws -> Graph { try GraphLoader.load(directory: GraphLoader.bundledCoraDirectory()!) }

    func testAveragePrecisionMatchesScikitLearn() throws {
        // Values from sklearn.metrics.average_precision_score on the same scores (ties enter together).
        XCTAssertEqual(try LinkMetrics.averagePrecision(positive: [3, 2], negative: [1, 2, 3]), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try LinkMetrics.averagePrecision(positive: [0.9, 0.4], negative: [0.8, 0.1, 0.4]), 0.75, accuracy: 1e-12)
        XCTAssertEqual(try LinkMetrics.averagePrecision(positive: [1, 1], negative: [1, 1]), 0.5, accuracy: 1e-12)
        XCTAssertEqual(try LinkMetrics.averagePrecision(positive: [5], negative: [1, 2]), 1)
        XCTAssertThrowsError(try LinkMetrics.averagePrecision(positive: [], negative: [1]))
        XCTAssertThrowsError(try LinkMetrics.averagePrecision(positive: [.nan], negative: [1]))
    }

    func testCommonNeighbourMatrixOnDroppedAdjacency() throws {
        // Path 0-1-2 plus 0-3-2 and 1-3: common neighbours of (0, 2) are {1, 3}.
        let g = try Graph(nodeCount: 5, edges: [(0, 1), (1, 2), (0, 3), (3, 2), (1, 3), (2, 4)])
        let pairs = NodePairs(sources: [0, 1], targets: [2, 4])
        let cn = commonNeighborMatrix(pairs, adjacency: g.adjacency)
        XCTAssertEqual(Array(cn.columnIndices[cn.rowPointers[0]..<cn.rowPointers[1]]), [1, 3])
        XCTAssertEqual(Array(cn.columnIndices[cn.rowPointers[1]..<cn.rowPointers[2]]), [2])
        var rng = RandomGenerator(seed: 3)
        XCTAssertEqual(droppingEntries(g.adjacency, probability: 0, rng: &rng).columnIndices, g.adjacency.columnIndices)
        // Dropping half of 200 000 entries keeps 50 % ± 0.5 % (≈ 4.5 σ).
        let big = try Graph(nodeCount: 2000, sources: (0..<100_000).map { $0 % 2000 }, targets: (0..<100_000).map { ($0 * 7 + $0 / 2000 + 1) % 2000 })
        let kept = Double(droppingEntries(big.adjacency, probability: 0.5, rng: &rng).nonZeroCount) / Double(big.adjacency.nonZeroCount)
        XCTAssertEqual(kept, 0.5, accuracy: 0.005)
    }

    func testNCNAndNCNCTrainOnCora() throws {
        // 12 epochs of the authors' Cora setting at width 64 (the full setting reaches ≈ 89 HR@100: BENCHMARKS.md).
        for model in [LinkModelKind.ncn, .ncnc] {
            var c = LinkPredictor.Configuration(model: model)
            c.hidden = 64; c.epochs = 12
            let predictor = try LinkPredictor(graph: try cora(), configuration: c)
            let result = try predictor.fit(splitSeed: 1)
            XCTAssertGreaterThan(result.testHits, 0.6, "\(model) HR@100 \(result.testHits)")
            XCTAssertGreaterThan(result.testAUROC, 0.85, "\(model) AUROC \(result.testAUROC)")
            XCTAssertGreaterThan(result.testAP, 0.8, "\(model) AP \(result.testAP)")
            XCTAssertLessThanOrEqual(result.testAP, 1)
        }
    }

    func testCheckpointRoundTripAndCorruption() throws {
        let g = try cora()
        var c = LinkPredictor.Configuration(model: .ncnc)
        c.hidden = 16; c.epochs = 1
        let predictor = try LinkPredictor(graph: g, configuration: c)
        _ = try predictor.fit(splitSeed: 2)
        let split = predictor.split!
        let pairs = NodePairs(sources: split.testPositives.sources + split.testNegatives.sources,
                              targets: split.testPositives.targets + split.testNegatives.targets)
        let expected = predictor.scores(pairs)
        // Scores do not depend on the rest of the batch (x' is computed only for the batch's common neighbours).
        for k in stride(from: 0, to: pairs.count, by: 97) {
            let one = predictor.scores(NodePairs(sources: [pairs.sources[k]], targets: [pairs.targets[k]]))[0]
            XCTAssertEqual(one, expected[k], accuracy: 1e-4 * Swift.max(1, abs(expected[k])))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fg-linkpred-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lp.safetensors").path
        try predictor.save(to: path)
        let loaded = try LinkPredictor.load(from: path, graph: g)
        XCTAssertEqual(loaded.configuration.model, .ncnc)
        XCTAssertEqual(loaded.scoringGraph.edgeCount, split.messagePassingGraph.edgeCount)
        XCTAssertEqual(loaded.scores(pairs), expected)
        // A GAE and a heuristic round-trip too.
        for model in [LinkModelKind.gae, .ra] {
            var cg = LinkPredictor.Configuration(model: model)
            cg.hidden = 8; cg.epochs = 1; cg.outputWidth = 4
            let p = try LinkPredictor(graph: g, configuration: cg)
            _ = try p.fit(splitSeed: 0)
            XCTAssertEqual(p.inferenceSeconds(repeats: 1) > 0, model == .gae)
            try p.save(to: path)
            XCTAssertEqual(try LinkPredictor.load(from: path, graph: g).scores(pairs), p.scores(pairs), "\(model)")
        }
        // Corruptions are reported, not trapped.
        var file = predictor.checkpoint()
        file.metadata["flowgen.model"] = "transformer"
        XCTAssertThrowsError(try LinkPredictor.restore(from: file, graph: g))
        file = predictor.checkpoint()
        file.tensors = file.tensors.filter { $0.name != "head.beta" }
        XCTAssertThrowsError(try LinkPredictor.restore(from: file, graph: g))
        file = predictor.checkpoint()
        if let k = file.tensors.firstIndex(where: { $0.name == "scoring_edges" }) {
            var t = file.tensors[k].tensor
            t.withUnsafeMutableBufferPointer { $0[1] = 60000 }  // node id 60000 ≥ 2708
            file.tensors[k].tensor = t
        }
        XCTAssertThrowsError(try LinkPredictor.restore(from: file, graph: g))
        let small = try Graph(nodeCount: 10, edges: [(0, 1)])
        XCTAssertThrowsError(try LinkPredictor.restore(from: predictor.checkpoint(), graph: small))
        var bytes = predictor.checkpoint().encode()
        bytes[bytes.count / 2] ^= 0xFF
        bytes.removeLast(17)
        XCTAssertThrowsError(try LinkPredictor.restore(from: try SafeTensorsFile.decode(bytes), graph: g))
    }
}
