import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

/// Reading graphs from a directory, in either of two layouts:
///
/// * planetoid (`../shared/data/planetoid/<name>/`): `edges.csv` (optional header `src,dst`; one `u,v` per
///   line), `features.npy` (float [n, d]), `labels.npy`, `train_idx.npy`, `val_idx.npy`, `test_idx.npy`;
/// * compact (`data/cora/`): `edges.npy` (integer [m, 2]) and the 0/1 features as CSR index arrays
///   `features_indptr.npy` [n+1], `features_indices.npy` [nnz], `features_shape.npy` [2] (plus the same
///   labels and split files).
///
/// Every file except the edges is optional. The node count is taken from the features, else the labels,
/// else the largest edge id + 1. Edges follow `Graph`'s rules (self loops dropped, duplicates merged, ids out
/// of range rejected). Errors: `FlowIOError` (missing/unreadable/corrupt files) and `GraphError` (bad CSV
/// line with its 1-based line number, ids out of range, NaN features, row-count mismatches).
public enum GraphLoader {
    /// Loads a graph from `directory` (see the type's documentation). Throws `GraphError.invalid` when the
    /// graph would have more than `maxNodes` nodes (e.g. one huge id in an edge list without features).
    public static func load(directory: String, maxNodes: Int = 1 << 31) throws -> Graph {
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        func path(_ name: String) -> String { dir + "/" + name }
        func exists(_ name: String) -> Bool { access(path(name), F_OK) == 0 }

        var (sources, targets): ([Int], [Int])
        if exists("edges.npy") {
            let (shape, values) = try readNpyInt(path("edges.npy"))
            guard shape.count == 2, shape[1] == 2 else {
                throw GraphError.malformed("\(path("edges.npy")): edges must have shape [m, 2], got \(shape)")
            }
            sources = stride(from: 0, to: values.count, by: 2).map { values[$0] }
            targets = stride(from: 1, to: values.count, by: 2).map { values[$0] }
        } else if exists("edges.csv") {
            (sources, targets) = try parseEdgeCSV(readFile(path("edges.csv")), name: path("edges.csv"))
        } else {
            throw FlowIOError.io("'\(dir)' has neither edges.npy nor edges.csv")
        }

        var features: Tensor? = nil
        var sparse: CSRMatrix? = nil
        if exists("features.npy") {
            let f = try readNpy(path("features.npy"))
            guard f.rank == 2 else { throw GraphError.malformed("features.npy must be 2-D, got shape \(f.shape)") }
            try checkFinite(f, name: "features.npy")
            features = f
        } else if exists("features_indptr.npy") {
            sparse = try loadCSRFeatures(indptr: path("features_indptr.npy"), indices: path("features_indices.npy"),
                                         shape: path("features_shape.npy"))
        }
        var labels: [Int]? = nil
        if exists("labels.npy") {
            let (shape, values) = try readNpyInt(path("labels.npy"))
            guard shape.count == 1 else { throw GraphError.malformed("labels.npy must be 1-D, got shape \(shape)") }
            if let i = values.firstIndex(where: { $0 < 0 }) {
                throw GraphError.outOfRange("labels.npy[\(i)] = \(values[i]) is negative")
            }
            labels = values
        }
        let featureRows = features?.shape[0] ?? sparse?.rowCount
        if let featureRows, let labels, labels.count != featureRows {
            throw GraphError.malformed("labels.npy has \(labels.count) rows but the features have \(featureRows)")
        }
        let nodeCount = featureRows ?? labels?.count ?? ((Swift.max(sources.max() ?? -1, targets.max() ?? -1)) + 1)
        guard nodeCount <= maxNodes else {
            throw GraphError.invalid("'\(dir)' describes \(nodeCount) nodes, more than the limit \(maxNodes)")
        }
        var graph = try Graph(nodeCount: nodeCount, sources: sources, targets: targets)
        graph.features = features
        graph.sparseFeatures = sparse
        graph.labels = labels
        for (name, keyPath) in [("train_idx.npy", \Graph.trainNodes), ("val_idx.npy", \Graph.validationNodes),
                                ("test_idx.npy", \Graph.testNodes)] where exists(name) {
            let (_, ids) = try readNpyInt(path(name))
            if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= nodeCount }) {
                throw GraphError.outOfRange("\(name)[\(bad)] = \(ids[bad]) is outside 0..<\(nodeCount)")
            }
            graph[keyPath: keyPath] = ids
        }
        return graph
    }

    /// Parses an edge-list CSV: an optional first header line that is not two integers (e.g. `src,dst`),
    /// then one `u,v` pair of non-negative integers per line (spaces around values allowed; blank lines and
    /// `#` comments skipped). Throws `GraphError.malformed` naming the 1-based line number of a bad line.
    public static func parseEdgeCSV(_ bytes: [UInt8], name: String = "edges.csv") throws -> (sources: [Int], targets: [Int]) {
        var sources: [Int] = [], targets: [Int] = []
        var lineNumber = 0
        var start = 0
        let n = bytes.count
        while start < n {
            var end = start
            while end < n && bytes[end] != 10 { end &+= 1 }
            lineNumber &+= 1
            var line = bytes[start..<end]
            if line.last == 13 { line = line.dropLast() }
            start = end &+ 1
            let text = line.drop { $0 == 32 || $0 == 9 }
            if text.isEmpty || text.first == 35 { continue }
            if let pair = parsePair(text) {
                sources.append(pair.0); targets.append(pair.1)
            } else if lineNumber == 1 {
                continue   // header
            } else {
                let shown = String(decoding: line.prefix(60), as: UTF8.self)
                throw GraphError.malformed("\(name): line \(lineNumber): expected two non-negative integers 'u,v', got '\(shown)'")
            }
        }
        return (sources, targets)
    }

    /// "u,v" with optional spaces → (u, v); nil when malformed or when a value exceeds 2^62.
    static func parsePair(_ text: ArraySlice<UInt8>) -> (Int, Int)? {
        var values: [Int] = []
        var current = 0, digits = 0
        var afterValue = false
        for c in text {
            if c >= 48 && c <= 57 {
                if afterValue { return nil }
                if current > (1 << 62) / 10 { return nil }
                current = current &* 10 &+ Int(c &- 48); digits &+= 1
            } else if c == 32 || c == 9 {
                if digits > 0 { afterValue = true }
            } else if c == 44 {
                guard digits > 0 else { return nil }
                values.append(current); current = 0; digits = 0; afterValue = false
            } else {
                return nil
            }
        }
        guard digits > 0 else { return nil }
        values.append(current)
        return values.count == 2 ? (values[0], values[1]) : nil
    }

    static func checkFinite(_ t: Tensor, name: String) throws {
        try t.withUnsafeBufferPointer { p in
            for i in 0..<p.count where !p[i].isFinite {
                let cols = t.shape.count == 2 ? Swift.max(t.shape[1], 1) : 1
                throw GraphError.nonFinite("\(name): element [\(i / cols), \(i % cols)] is \(p[i])")
            }
        }
    }

    static func loadCSRFeatures(indptr: String, indices: String, shape: String) throws -> CSRMatrix {
        let (_, ptr) = try readNpyInt(indptr)
        let (_, idx) = try readNpyInt(indices)
        let (_, dims) = try readNpyInt(shape)
        guard dims.count == 2, dims[0] >= 0, dims[1] >= 0 else {
            throw GraphError.malformed("\(shape) must hold [rows, columns], got \(dims)")
        }
        guard ptr.count - 1 == dims[0], ptr.first == 0, ptr.last == idx.count else {
            throw GraphError.malformed("\(indptr) must have rows + 1 entries (rows = \(dims[0])) rising from 0 to \(idx.count)")
        }
        for i in 0..<dims[0] where ptr[i] > ptr[i + 1] {
            throw GraphError.malformed("\(indptr) decreases at row \(i)")
        }
        for i in 0..<dims[0] {
            var previous = -1
            for k in ptr[i]..<ptr[i + 1] {
                guard idx[k] > previous, idx[k] < dims[1] else {
                    throw GraphError.malformed("\(indices)[\(k)] = \(idx[k]) (row \(i)) is out of range or not sorted")
                }
                previous = idx[k]
            }
        }
        return CSRMatrix(rowCount: dims[0], columnCount: dims[1], rowPointers: ptr, columnIndices: idx,
                         values: [Float](repeating: 1, count: idx.count))
    }

    /// The bundled compact Cora (`data/cora` of the repository): looked up from `$FLOWGEN_DATA`, the current
    /// directory and its parents, then relative to this source file. Nil when not found.
    public static func bundledCoraDirectory() -> String? {
        let sourceFile = #filePath   // …/Sources/FlowGraph/Graph/GraphLoader.swift
        var candidates: [String] = []
        if let env = getenv("FLOWGEN_DATA") { candidates.append(String(cString: env) + "/cora") }
        var buffer = [CChar](repeating: 0, count: 4096)
        if getcwd(&buffer, buffer.count) != nil {
            var dir = String(cString: buffer)
            while true {
                candidates.append(dir + "/data/cora")
                guard let slash = dir.lastIndex(of: "/"), !dir.isEmpty else { break }
                dir = String(dir[..<slash])
                if dir.isEmpty { break }
            }
        }
        var src = sourceFile
        for _ in 0..<4 { if let slash = src.lastIndex(of: "/") { src = String(src[..<slash]) } }
        candidates.append(src + "/data/cora")
        return candidates.first { access($0 + "/edges.npy", F_OK) == 0 }
    }
}
