import FlowTensor

extension LinkSplit {
    /// A random link split with PyG's `RandomLinkSplit` fractions (NBFNet's Cora protocol is 85/5/10:
    /// `validationFraction` 0.05, `testFraction` 0.1): the undirected edges are shuffled with `seed`;
    /// ⌊test·m⌋ go to test, ⌊validation·m⌋ to validation, the rest to training (message passing and
    /// supervision). Validation and test get as many negatives as positives, drawn uniformly without
    /// replacement from the non-edges of the full graph. Throws `GraphError.invalid` for fractions outside
    /// (0, 1) summing to ≥ 1, or a graph too small or too dense.
    public static func random(graph: Graph, validationFraction: Double, testFraction: Double, seed: UInt64) throws -> LinkSplit {
        guard validationFraction > 0, testFraction > 0, validationFraction + testFraction < 1 else {
            throw GraphError.invalid("validation and test fractions must be > 0 and sum to < 1, got \(validationFraction) and \(testFraction)")
        }
        let m = graph.edgeCount
        let testCount = Int((testFraction * Double(m)).rounded(.down))
        let validationCount = Int((validationFraction * Double(m)).rounded(.down))
        guard testCount >= 1, validationCount >= 1, testCount + validationCount < m else {
            throw GraphError.invalid("the graph has \(m) edges: too few for a \(validationFraction)/\(testFraction) split")
        }
        var rng = RandomGenerator(seed: seed)
        let perm = rng.permutation(m)
        func pairs(_ ids: ArraySlice<Int>) -> NodePairs {
            NodePairs(sources: ids.map { graph.edgeSources[$0] }, targets: ids.map { graph.edgeTargets[$0] })
        }
        let test = pairs(perm[0..<testCount])
        let validation = pairs(perm[testCount..<(testCount + validationCount)])
        let train = pairs(perm[(testCount + validationCount)...])
        let negatives = try sampleNonEdges(of: graph, count: testCount + validationCount, rng: &rng)
        let testNegatives = NodePairs(sources: Array(negatives.sources[0..<testCount]), targets: Array(negatives.targets[0..<testCount]))
        let validationNegatives = NodePairs(sources: Array(negatives.sources[testCount...]), targets: Array(negatives.targets[testCount...]))
        let split = LinkSplit(messagePassingGraph: try graph.withEdges(sources: train.sources, targets: train.targets),
                              supervisionEdges: train, validationPositives: validation, validationNegatives: validationNegatives,
                              testPositives: test, testNegatives: testNegatives)
        try split.checkNoLeakage(fullGraph: graph)
        return split
    }
}
