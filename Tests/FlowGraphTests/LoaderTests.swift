import XCTest
import FlowGen
#if canImport(Glibc)
import Glibc
#endif

/// Reading graphs: CSV errors with line numbers, out-of-range ids, the bundled compact Cora and the
/// planetoid layout.
final class LoaderTests: XCTestCase {
    func temporaryDirectory() -> String {
        var template = Array("/tmp/flowgen-graph-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    func write(_ text: String, to path: String) throws {
        try writeFileAtomically(path, bytes: Array(text.utf8))
    }

    func testCSVParsesHeaderCommentsAndBlankLines() throws {
        let (s, t) = try GraphLoader.parseEdgeCSV(Array("src,dst\n0,1\n\n# comment\n 2 , 3\r\n".utf8))
        XCTAssertEqual(s, [0, 2]); XCTAssertEqual(t, [1, 3])
    }

    func testMalformedCSVLineReportsItsNumber() {
        for (text, line) in [("src,dst\n0,1\n1,x\n", 3), ("0,1\n1,2,3\n", 2), ("0,1\n\n-1,2\n", 3), ("0,1\n5\n", 2)] {
            XCTAssertThrowsError(try GraphLoader.parseEdgeCSV(Array(text.utf8))) { error in
                guard case GraphError.malformed(let m) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(m.contains("line \(line):"), m)
            }
        }
    }

    func testDirectoryWithOutOfRangeEdgeIsRejected() throws {
        let dir = temporaryDirectory()
        try write("src,dst\n0,1\n1,5\n", to: dir + "/edges.csv")
        try writeNpyInt32(shape: [3], values: [0, 1, 0], to: dir + "/labels.npy")
        XCTAssertThrowsError(try GraphLoader.load(directory: dir)) { error in
            guard case GraphError.outOfRange(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("(1, 5)"), m)
        }
        // Without labels/features the node count comes from the ids; a label/feature mismatch is reported.
        try writeNpy(Tensor(zeros: [4, 2]), to: dir + "/features.npy")
        XCTAssertThrowsError(try GraphLoader.load(directory: dir)) { error in
            guard case GraphError.malformed = error else { return XCTFail("\(error)") }
        }
        var nan = Tensor(zeros: [3, 2]); nan.withUnsafeMutableBufferPointer { $0[3] = .nan }
        try writeNpy(nan, to: dir + "/features.npy")
        XCTAssertThrowsError(try GraphLoader.load(directory: dir)) { error in
            guard case GraphError.nonFinite = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try GraphLoader.load(directory: dir + "/missing"))
    }

    func testCorruptSparseFeaturesAreRejected() throws {
        let dir = temporaryDirectory()
        try writeNpyInt32(shape: [2, 2], values: [0, 1, 1, 2], to: dir + "/edges.npy")
        try writeNpyInt32(shape: [4], values: [0, 1, 1, 2], to: dir + "/features_indptr.npy")
        try writeNpyInt32(shape: [2], values: [0, 4], to: dir + "/features_indices.npy")
        for shape: [Int32] in [[3, 4], [Int32.max, 4], [3, -1]] {   // column 4 out of range; row count; negative
            try writeNpyInt32(shape: [2], values: shape, to: dir + "/features_shape.npy")
            XCTAssertThrowsError(try GraphLoader.load(directory: dir), "\(shape)") { error in
                guard case GraphError.malformed = error else { return XCTFail("\(error)") }
            }
        }
        try writeNpyInt32(shape: [2], values: [3, 5], to: dir + "/features_shape.npy")
        let g = try GraphLoader.load(directory: dir)
        XCTAssertEqual(g.featureCount, 5)
        XCTAssertEqual(g.sparseFeatures?.dense().scalars, [1, 0, 0, 0, 0,  0, 0, 0, 0, 0,  0, 0, 0, 0, 1])
    }

    func testBundledCompactCora() throws {
        let dir = try XCTUnwrap(GraphLoader.bundledCoraDirectory(), "data/cora not found")
        let g = try GraphLoader.load(directory: dir)
        XCTAssertEqual(g.nodeCount, 2708)
        XCTAssertEqual(g.edgeCount, 5278)
        XCTAssertEqual(g.featureCount, 1433)
        XCTAssertEqual(g.sparseFeatures?.nonZeroCount, 49216)
        XCTAssertEqual(g.classCount, 7)
        var counts = [Int](repeating: 0, count: 7)
        for l in g.labels ?? [] { counts[l] += 1 }
        XCTAssertEqual(counts, [351, 217, 418, 818, 426, 298, 180])
        XCTAssertEqual([g.trainNodes.count, g.validationNodes.count, g.testNodes.count], [140, 500, 1000])
    }

    func testPlanetoidLayoutMatchesCompactCopy() throws {
        let shared = "/work/shared/data/planetoid/Cora"
        try XCTSkipUnless(access(shared + "/edges.csv", F_OK) == 0, "planetoid Cora not available")
        let a = try GraphLoader.load(directory: shared)
        let b = try GraphLoader.load(directory: try XCTUnwrap(GraphLoader.bundledCoraDirectory()))
        XCTAssertEqual(a.edgeSources, b.edgeSources); XCTAssertEqual(a.edgeTargets, b.edgeTargets)
        XCTAssertEqual(a.labels, b.labels); XCTAssertEqual(a.testNodes, b.testNodes)
        XCTAssertEqual(a.features?.scalars, b.sparseFeatures?.dense().scalars)
    }
}
