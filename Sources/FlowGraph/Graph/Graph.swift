import FlowTensor

/// An undirected graph with optional node features, labels and a node split.
///
/// Edges are stored once as `(u, v)` with `u < v`, sorted and unique (`edgeSources`/`edgeTargets`), and as a
/// symmetric CSR adjacency with sorted rows (both orientations, weight 1). Construction from an edge list
/// documents its handling of messy input: **self loops are dropped**, **duplicates and reversed copies are
/// merged** (the graph is undirected), node ids must lie in `0..<nodeCount` (else `GraphError.outOfRange`).
public struct Graph: @unchecked Sendable {
    /// Number of nodes.
    public let nodeCount: Int
    /// Smaller endpoint of each undirected edge (sorted by (source, target)).
    public let edgeSources: [Int]
    /// Larger endpoint of each undirected edge.
    public let edgeTargets: [Int]
    /// Symmetric 0/1 adjacency without self loops; rows sorted.
    public let adjacency: CSRMatrix
    /// Node features [nodeCount, featureCount] (dense), if any.
    public var features: Tensor?
    /// Node features as CSR (kept when the features are sparse, e.g. bag-of-words), if any.
    public var sparseFeatures: CSRMatrix?
    /// Class id per node, if any.
    public var labels: [Int]?
    /// Public split node ids, if any.
    public var trainNodes: [Int] = [], validationNodes: [Int] = [], testNodes: [Int] = []
    /// Self loops and duplicate (or reversed) edges dropped while building.
    public private(set) var droppedSelfLoops = 0, droppedDuplicates = 0

    /// Number of undirected edges.
    public var edgeCount: Int { edgeSources.count }
    /// Number of feature columns (0 without features).
    public var featureCount: Int { features?.shape[1] ?? sparseFeatures?.columnCount ?? 0 }
    /// Number of classes (max label + 1; 0 without labels).
    public var classCount: Int { (labels?.max() ?? -1) + 1 }

    /// Builds a graph from an edge list (see the type's documentation for self loops and duplicates).
    /// - Throws: `GraphError.outOfRange` naming the first edge with an id outside `0..<nodeCount`.
    public init(nodeCount: Int, sources: [Int], targets: [Int]) throws {
        guard nodeCount >= 0, nodeCount <= 1 << 31 else {
            throw GraphError.invalid("nodeCount must be in 0 … 2^31, got \(nodeCount)")
        }
        guard sources.count == targets.count else {
            throw GraphError.invalid("\(sources.count) sources but \(targets.count) targets")
        }
        var keys: [Int] = []
        keys.reserveCapacity(sources.count)
        var selfLoops = 0
        for e in 0..<sources.count {
            let s = sources[e], t = targets[e]
            guard s >= 0, s < nodeCount, t >= 0, t < nodeCount else {
                throw GraphError.outOfRange("edge \(e) = (\(s), \(t)) has a node id outside 0..<\(nodeCount)")
            }
            if s == t { selfLoops += 1; continue }
            let u = Swift.min(s, t), v = Swift.max(s, t)
            keys.append(u &* nodeCount &+ v)
        }
        keys.sort()
        var src: [Int] = [], dst: [Int] = []
        src.reserveCapacity(keys.count); dst.reserveCapacity(keys.count)
        var previous = -1
        for k in keys where k != previous {
            previous = k
            src.append(k / nodeCount); dst.append(k % nodeCount)
        }
        self.nodeCount = nodeCount
        self.edgeSources = src
        self.edgeTargets = dst
        self.droppedSelfLoops = selfLoops
        self.droppedDuplicates = keys.count - src.count
        self.adjacency = Graph.symmetricAdjacency(nodeCount: nodeCount, sources: src, targets: dst)
    }

    /// Builds a graph from `(u, v)` pairs.
    public init(nodeCount: Int, edges: [(Int, Int)]) throws {
        try self.init(nodeCount: nodeCount, sources: edges.map(\.0), targets: edges.map(\.1))
    }

    /// The same nodes, features, labels and split with another (undirected) edge set.
    public func withEdges(sources: [Int], targets: [Int]) throws -> Graph {
        var g = try Graph(nodeCount: nodeCount, sources: sources, targets: targets)
        g.features = features; g.sparseFeatures = sparseFeatures; g.labels = labels
        g.trainNodes = trainNodes; g.validationNodes = validationNodes; g.testNodes = testNodes
        return g
    }

    static func symmetricAdjacency(nodeCount: Int, sources: [Int], targets: [Int]) -> CSRMatrix {
        let m = sources.count
        var degree = [Int](repeating: 0, count: nodeCount + 1)
        for e in 0..<m { degree[sources[e] &+ 1] &+= 1; degree[targets[e] &+ 1] &+= 1 }
        for i in 0..<nodeCount { degree[i &+ 1] &+= degree[i] }
        var next = degree
        var cols = [Int](repeating: 0, count: 2 &* m)
        for e in 0..<m {
            let u = sources[e], v = targets[e]
            cols[next[u]] = v; next[u] &+= 1
            cols[next[v]] = u; next[v] &+= 1
        }
        for i in 0..<nodeCount { cols[degree[i]..<degree[i &+ 1]].sort() }
        return CSRMatrix(rowCount: nodeCount, columnCount: nodeCount, rowPointers: degree, columnIndices: cols,
                         values: [Float](repeating: 1, count: 2 &* m), isSymmetric: true)
    }

    /// Degree of each node (number of distinct neighbours).
    public var degrees: [Int] { (0..<nodeCount).map { adjacency.rowPointers[$0 &+ 1] - adjacency.rowPointers[$0] } }

    /// True when `u` and `v` are adjacent (binary search in the sorted row).
    public func hasEdge(_ u: Int, _ v: Int) -> Bool {
        guard u >= 0, u < nodeCount, v >= 0, v < nodeCount else { return false }
        var lo = adjacency.rowPointers[u], hi = adjacency.rowPointers[u &+ 1]
        let cols = adjacency.columnIndices
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if cols[mid] < v { lo = mid &+ 1 } else { hi = mid }
        }
        return lo < adjacency.rowPointers[u &+ 1] && cols[lo] == v
    }

    /// The symmetric GCN operator Â = D̃^{-1/2}(A + I)D̃^{-1/2} with D̃ the degrees of A + I
    /// (Kipf & Welling 2017, eq. 2).
    public func gcnNormalizedAdjacency() -> CSRMatrix {
        let rp = adjacency.rowPointers, ci = adjacency.columnIndices
        var invSqrt = [Float](repeating: 0, count: nodeCount)
        for i in 0..<nodeCount { invSqrt[i] = 1 / Float(rp[i &+ 1] - rp[i] + 1).squareRoot() }
        var pointers = [Int](repeating: 0, count: nodeCount + 1)
        var cols: [Int] = []; cols.reserveCapacity(ci.count + nodeCount)
        var vals: [Float] = []; vals.reserveCapacity(ci.count + nodeCount)
        for i in 0..<nodeCount {
            var placedSelf = false
            for k in rp[i]..<rp[i &+ 1] {
                let j = ci[k]
                if !placedSelf && j > i { cols.append(i); vals.append(invSqrt[i] * invSqrt[i]); placedSelf = true }
                cols.append(j); vals.append(invSqrt[i] * invSqrt[j])
            }
            if !placedSelf { cols.append(i); vals.append(invSqrt[i] * invSqrt[i]) }
            pointers[i &+ 1] = cols.count
        }
        return CSRMatrix(rowCount: nodeCount, columnCount: nodeCount, rowPointers: pointers, columnIndices: cols,
                         values: vals, isSymmetric: true)
    }

    /// The mean-aggregation operator D^{-1}A (rows of isolated nodes are zero). Not symmetric.
    public func meanAdjacency() -> CSRMatrix { adjacency.rowNormalized() }

    /// The features as a CSR matrix (the stored sparse copy, or one built from the dense features).
    public func featureMatrix() -> CSRMatrix? {
        if let sparseFeatures { return sparseFeatures }
        guard let features else { return nil }
        return denseToCSR(features)
    }

    /// The dense features (from the sparse copy when only that exists).
    public func denseFeatures() -> Tensor? { features ?? sparseFeatures?.dense() }
}

/// The non-zero entries of a 2-D tensor as CSR.
public func denseToCSR(_ t: Tensor) -> CSRMatrix {
    precondition(t.rank == 2, "denseToCSR expects a matrix, got \(t.shape)")
    let rows = t.shape[0], cols = t.shape[1]
    var pointers = [Int](repeating: 0, count: rows + 1)
    var ci: [Int] = [], vals: [Float] = []
    t.withUnsafeBufferPointer { p in
        for i in 0..<rows {
            for j in 0..<cols where p[i &* cols &+ j] != 0 { ci.append(j); vals.append(p[i &* cols &+ j]) }
            pointers[i &+ 1] = ci.count
        }
    }
    return CSRMatrix(rowCount: rows, columnCount: cols, rowPointers: pointers, columnIndices: ci, values: vals)
}
