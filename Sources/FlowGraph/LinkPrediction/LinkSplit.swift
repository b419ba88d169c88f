import FlowTensor

/// Node pairs (u, v) as two parallel arrays.
public struct NodePairs: Sendable, Equatable {
    public var sources: [Int]
    public var targets: [Int]
    public init(sources: [Int] = [], targets: [Int] = []) {
        precondition(sources.count == targets.count, "NodePairs: sources and targets differ in length")
        self.sources = sources; self.targets = targets
    }
    public var count: Int { sources.count }
}

/// A link-prediction split with explicit names: the message-passing graph (what models may see), the
/// supervision edges (training positives), and validation/test positives and negatives.
///
/// `ncn(graph:seed:)` is the NCN protocol on Planetoid graphs (Wang et al. 2023, `ogbdataset.py randomsplit`):
/// the undirected edges are shuffled with seed r; ⌊0.2m⌋ go to test, ⌊⌊0.2m⌋·0.1/0.2⌋ to validation, the rest
/// (≈70 %) to training. Validation and test negatives are drawn uniformly, without replacement, from the
/// non-edges (u < v, u ≠ v) of the *full* graph: ⌊0.2m⌋ of each (as in the NCN code, where the validation
/// negatives are not halved; for Cora 1055 and 1055). Message passing uses the training edges only.
public struct LinkSplit: Sendable {
    /// The graph models propagate on: training edges only (symmetric), with the full graph's features.
    public let messagePassingGraph: Graph
    /// Training positives (u < v) — equal to the message-passing edges in this protocol.
    public let supervisionEdges: NodePairs
    public let validationPositives: NodePairs
    public let validationNegatives: NodePairs
    public let testPositives: NodePairs
    public let testNegatives: NodePairs

    /// A split from explicit parts (e.g. a fixed benchmark split); call `checkNoLeakage` on it.
    public init(messagePassingGraph: Graph, supervisionEdges: NodePairs, validationPositives: NodePairs,
                validationNegatives: NodePairs, testPositives: NodePairs, testNegatives: NodePairs) {
        self.messagePassingGraph = messagePassingGraph
        self.supervisionEdges = supervisionEdges
        self.validationPositives = validationPositives
        self.validationNegatives = validationNegatives
        self.testPositives = testPositives
        self.testNegatives = testNegatives
    }

    /// The NCN 70/10/20 split (see the type's documentation). Throws `GraphError.invalid` when the graph is
    /// too small (fewer than 10 edges) or too dense to draw the negatives.
    public static func ncn(graph: Graph, seed: UInt64) throws -> LinkSplit {
        let m = graph.edgeCount
        guard m >= 10 else { throw GraphError.invalid("the graph has \(m) edges; a 70/10/20 split needs at least 10") }
        var rng = RandomGenerator(seed: seed)
        let perm = rng.permutation(m)
        let testCount = Int((0.2 * Double(m)).rounded(.down))
        let validationCount = Int((Double(testCount) * 0.1 / 0.2).rounded(.down))
        func pairs(_ ids: ArraySlice<Int>) -> NodePairs {
            NodePairs(sources: ids.map { graph.edgeSources[$0] }, targets: ids.map { graph.edgeTargets[$0] })
        }
        let test = pairs(perm[0..<testCount])
        let validation = pairs(perm[testCount..<(testCount + validationCount)])
        let train = pairs(perm[(testCount + validationCount)...])
        let negatives = try sampleNonEdges(of: graph, count: 2 * testCount, rng: &rng)
        let half = NodePairs(sources: Array(negatives.sources[0..<testCount]), targets: Array(negatives.targets[0..<testCount]))
        let rest = NodePairs(sources: Array(negatives.sources[testCount...]), targets: Array(negatives.targets[testCount...]))
        let mp = try graph.withEdges(sources: train.sources, targets: train.targets)
        let split = LinkSplit(messagePassingGraph: mp, supervisionEdges: train, validationPositives: validation,
                              validationNegatives: half, testPositives: test, testNegatives: rest)
        try split.checkNoLeakage(fullGraph: graph)
        return split
    }

    /// Fails loudly (`GraphError.leakage`) when a validation or test positive is an edge of the message-passing
    /// graph, or (given the full graph) when a negative is a true edge.
    public func checkNoLeakage(fullGraph: Graph? = nil) throws {
        for (name, set) in [("validation", validationPositives), ("test", testPositives)] {
            for k in 0..<set.count where messagePassingGraph.hasEdge(set.sources[k], set.targets[k]) {
                throw GraphError.leakage("\(name) positive (\(set.sources[k]), \(set.targets[k])) is in the message-passing graph")
            }
        }
        if let fullGraph {
            for (name, set) in [("validation", validationNegatives), ("test", testNegatives)] {
                for k in 0..<set.count where fullGraph.hasEdge(set.sources[k], set.targets[k]) {
                    throw GraphError.leakage("\(name) negative (\(set.sources[k]), \(set.targets[k])) is an edge of the graph")
                }
            }
        }
    }
}

/// `count` distinct uniform non-edges (u < v, u ≠ v) of `graph`, by rejection sampling.
/// Throws `GraphError.invalid` when the graph does not have that many non-edges.
public func sampleNonEdges(of graph: Graph, count: Int, rng: inout RandomGenerator) throws -> NodePairs {
    let n = graph.nodeCount
    let possible = n * (n - 1) / 2 - graph.edgeCount
    guard count >= 0, count <= possible else {
        throw GraphError.invalid("cannot draw \(count) distinct non-edges: the graph has only \(Swift.max(possible, 0))")
    }
    var chosen = Set<Int>()
    var out = NodePairs()
    out.sources.reserveCapacity(count); out.targets.reserveCapacity(count)
    while out.count < count {
        let a = rng.nextInt(below: n), b = rng.nextInt(below: n)
        if a == b { continue }
        let u = Swift.min(a, b), v = Swift.max(a, b)
        if graph.hasEdge(u, v) || !chosen.insert(u &* n &+ v).inserted { continue }
        out.sources.append(u); out.targets.append(v)
    }
    return out
}

/// `count` uniform random node pairs that are not edges of `graph` (u ≠ v; repeats allowed) — the per-epoch
/// training negatives (cheap; the graph is sparse so few draws are rejected).
public func sampleTrainingNegatives(of graph: Graph, count: Int, rng: inout RandomGenerator) -> NodePairs {
    let n = graph.nodeCount
    var out = NodePairs()
    guard n >= 2 else { return out }
    var attempts = 0
    while out.count < count && attempts < 100 &* (count &+ 1) {
        attempts &+= 1
        let a = rng.nextInt(below: n), b = rng.nextInt(below: n)
        if a == b || graph.hasEdge(a, b) { continue }
        out.sources.append(a); out.targets.append(b)
    }
    return out
}

/// `count` strict negatives of `graph` as NBFNet's `_strict_negative`: u ∝ n − deg(u) − 1 (its number of
/// non-neighbours), v uniform among the non-neighbours of u other than u (by rejection; sparse graphs reject
/// few draws) — together a uniform draw over ordered non-edges (repeats allowed). A u whose draws all hit
/// neighbours is redrawn. Throws if the graph has (almost) no non-edges.
public func sampleStrictNegatives(of graph: Graph, count: Int, rng: inout RandomGenerator) throws -> NodePairs {
    let n = graph.nodeCount, degrees = graph.degrees
    var cumulative = [Double](repeating: 0, count: n), total = 0.0
    for u in 0..<n { total += Double(Swift.max(n - degrees[u] - 1, 0)); cumulative[u] = total }
    var out = NodePairs()
    var attempts = 0
    while out.count < count && total > 0 && attempts < 100 &* (count &+ 1) {
        attempts &+= 1
        let x = Double(rng.nextUniform()) * total
        var lo = 0, hi = n - 1
        while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] > x { hi = mid } else { lo = mid + 1 } }
        let u = lo
        for _ in 0..<100 {
            let v = rng.nextInt(below: n)
            if v != u && !graph.hasEdge(u, v) { out.sources.append(u); out.targets.append(v); break }
        }
    }
    guard out.count == count else { throw GraphError.invalid("strict negatives: the graph has too few non-edges") }
    return out
}

extension Graph {
    /// This graph without the undirected edges in `pairs` (either orientation; pairs that are not edges
    /// are ignored). Used to hide the training targets from message passing (target-link removal).
    func removingEdges(_ pairs: NodePairs) throws -> Graph {
        var drop = Set<Int>()
        for k in 0..<pairs.count {
            drop.insert(Swift.min(pairs.sources[k], pairs.targets[k]) &* nodeCount &+ Swift.max(pairs.sources[k], pairs.targets[k]))
        }
        // Edges are stored once with u < v, so one key per undirected edge matches.
        var s: [Int] = [], t: [Int] = []
        s.reserveCapacity(edgeCount); t.reserveCapacity(edgeCount)
        for e in 0..<edgeCount where !drop.contains(edgeSources[e] &* nodeCount &+ edgeTargets[e]) {
            s.append(edgeSources[e]); t.append(edgeTargets[e])
        }
        return try withEdges(sources: s, targets: t)
    }
}
