import FlowTensor

/// A [pairs.count, n] 0/1 matrix whose row b marks the common neighbours of pair b in `graph` (sorted-row
/// intersection; the NCN aggregation is then one SpMM with the node embeddings).
public func commonNeighborMatrix(_ pairs: NodePairs, on graph: Graph) -> CSRMatrix {
    commonNeighborMatrix(pairs, adjacency: graph.adjacency)
}

/// Row b marks N(u_b) ∩ N(v_b) in `adjacency` (any [n, n] CSR with sorted rows; values ignored, result 0/1).
public func commonNeighborMatrix(_ pairs: NodePairs, adjacency: CSRMatrix) -> CSRMatrix {
    let rp = adjacency.rowPointers, ci = adjacency.columnIndices
    var pointers = [Int](repeating: 0, count: pairs.count + 1)
    var cols: [Int] = []
    for b in 0..<pairs.count {
        let u = pairs.sources[b], v = pairs.targets[b]
        var i = rp[u], j = rp[v]
        while i < rp[u + 1] && j < rp[v + 1] {
            let a = ci[i], c = ci[j]
            if a == c { cols.append(a); i += 1; j += 1 } else if a < c { i += 1 } else { j += 1 }
        }
        pointers[b + 1] = cols.count
    }
    return CSRMatrix(rowCount: pairs.count, columnCount: adjacency.columnCount, rowPointers: pointers, columnIndices: cols,
                     values: [Float](repeating: 1, count: cols.count))
}

/// `m` with each stored entry kept independently with probability 1 − p (values set to 1) — the authors'
/// `DropAdj` on the predictor's adjacency, which drops the two directions of an edge independently.
public func droppingEntries(_ m: CSRMatrix, probability p: Float, rng: inout RandomGenerator) -> CSRMatrix {
    var pointers = [Int](repeating: 0, count: m.rowCount + 1)
    var cols: [Int] = []
    cols.reserveCapacity(m.nonZeroCount)
    for i in 0..<m.rowCount {
        for k in m.rowPointers[i]..<m.rowPointers[i + 1] where rng.nextUniform() >= p { cols.append(m.columnIndices[k]) }
        pointers[i + 1] = cols.count
    }
    return CSRMatrix(rowCount: m.rowCount, columnCount: m.columnCount, rowPointers: pointers, columnIndices: cols,
                     values: [Float](repeating: 1, count: cols.count))
}

/// The three neighbour sets NCNC needs for a batch of pairs (i_b, j_b): the common neighbours N(i) ∩ N(j), the
/// candidates N(i)∖N(j) (completed by the link (j, u)) and N(j)∖N(i) (completed by (i, u)), each candidate set
/// optionally sub-sampled per pair (the authors' `sparsesample_reweight`: a side with more than `degree`
/// candidates gets `degree` uniform draws with replacement, each weighted count/degree, duplicates summed).
struct CommonNeighborParts {
    let pairCount: Int
    let columnCount: Int
    let common: CSRMatrix
    /// Links whose probability completes a candidate of the first side: (j_b, u) for u ∈ N(i)∖N(j).
    let firstPairs: NodePairs
    let firstRows: [Int], firstWeights: [Float]
    /// (i_b, u) for u ∈ N(j)∖N(i).
    let secondPairs: NodePairs
    let secondRows: [Int], secondWeights: [Float]

    /// The completed aggregation matrix: common neighbours with weight 1 and candidates with weight
    /// w·transform(logit).
    func completed(firstLogits: [Float], secondLogits: [Float], transform: (Float) -> Float) -> CSRMatrix {
        var rows: [Int] = [], cols: [Int] = [], values: [Float] = []
        let total = common.nonZeroCount + firstPairs.count + secondPairs.count
        rows.reserveCapacity(total); cols.reserveCapacity(total); values.reserveCapacity(total)
        for b in 0..<pairCount {
            for k in common.rowPointers[b]..<common.rowPointers[b + 1] { rows.append(b); cols.append(common.columnIndices[k]); values.append(1) }
        }
        for k in 0..<firstPairs.count {
            rows.append(firstRows[k]); cols.append(firstPairs.targets[k]); values.append(firstWeights[k] * transform(firstLogits[k]))
        }
        for k in 0..<secondPairs.count {
            rows.append(secondRows[k]); cols.append(secondPairs.targets[k]); values.append(secondWeights[k] * transform(secondLogits[k]))
        }
        return CSRMatrix(rowCount: pairCount, columnCount: columnCount, rows: rows, columns: cols, values: values)
    }
}

/// Splits the neighbourhoods of each pair into common neighbours and the two candidate sets (see
/// `CommonNeighborParts`); `candidateDegree` 0 keeps every candidate.
func commonNeighborParts(_ pairs: NodePairs, adjacency: CSRMatrix, candidateDegree: Int,
                         rng: inout RandomGenerator) -> CommonNeighborParts {
    let rp = adjacency.rowPointers, ci = adjacency.columnIndices
    var pointers = [Int](repeating: 0, count: pairs.count + 1)
    var commonCols: [Int] = []
    var first = NodePairs(), second = NodePairs()
    var firstRows: [Int] = [], secondRows: [Int] = [], firstWeights: [Float] = [], secondWeights: [Float] = []
    var onlyU: [Int] = [], onlyV: [Int] = []
    func emit(_ candidates: [Int], row b: Int, anchor: Int, into out: inout NodePairs, _ rows: inout [Int], _ weights: inout [Float]) {
        if candidateDegree <= 0 || candidates.count <= candidateDegree {
            for u in candidates { out.sources.append(anchor); out.targets.append(u); rows.append(b); weights.append(1) }
            return
        }
        var drawn: [Int: Float] = [:]
        let w = Float(candidates.count) / Float(candidateDegree)
        for _ in 0..<candidateDegree { drawn[candidates[rng.nextInt(below: candidates.count)], default: 0] += w }
        for u in drawn.keys.sorted() { out.sources.append(anchor); out.targets.append(u); rows.append(b); weights.append(drawn[u]!) }
    }
    for b in 0..<pairs.count {
        let u = pairs.sources[b], v = pairs.targets[b]
        var i = rp[u], j = rp[v]
        onlyU.removeAll(keepingCapacity: true); onlyV.removeAll(keepingCapacity: true)
        while i < rp[u + 1] || j < rp[v + 1] {
            if j >= rp[v + 1] || (i < rp[u + 1] && ci[i] < ci[j]) { onlyU.append(ci[i]); i += 1 }
            else if i >= rp[u + 1] || ci[j] < ci[i] { onlyV.append(ci[j]); j += 1 }
            else { commonCols.append(ci[i]); i += 1; j += 1 }
        }
        pointers[b + 1] = commonCols.count
        emit(onlyU, row: b, anchor: v, into: &first, &firstRows, &firstWeights)
        emit(onlyV, row: b, anchor: u, into: &second, &secondRows, &secondWeights)
    }
    let common = CSRMatrix(rowCount: pairs.count, columnCount: adjacency.columnCount, rowPointers: pointers,
                           columnIndices: commonCols, values: [Float](repeating: 1, count: commonCols.count))
    return CommonNeighborParts(pairCount: pairs.count, columnCount: adjacency.columnCount, common: common,
                               firstPairs: first, firstRows: firstRows, firstWeights: firstWeights,
                               secondPairs: second, secondRows: secondRows, secondWeights: secondWeights)
}

extension CSRMatrix {
    /// The same matrix restricted to its non-empty columns, renumbered 0..<k in increasing order, and the
    /// original index of each kept column (so `m · X == compressed · X[kept]`).
    func compressingColumns() -> (matrix: CSRMatrix, kept: [Int]) {
        var newIndex = [Int](repeating: -1, count: columnCount)
        for c in columnIndices { newIndex[c] = 0 }
        var kept: [Int] = []
        for c in 0..<columnCount where newIndex[c] == 0 { newIndex[c] = kept.count; kept.append(c) }
        let cols = columnIndices.map { newIndex[$0] }
        return (CSRMatrix(rowCount: rowCount, columnCount: kept.count, rowPointers: rowPointers, columnIndices: cols,
                          values: values), kept)
    }
}
