import FlowTensor
import CFlowSupport

/// Exact linear assignment: the row → column map minimising Σ_i cost[i, col(i)] for an n × m cost
/// matrix with n ≤ m (each row gets a distinct column), finite costs, Double arithmetic.
/// Square problems use `jonkerVolgenantAssignment` (LAPJV), rectangular ones `hungarianAssignment`.
///
/// - Parameters:
///   - cost: row-major n × m costs (finite).
/// - Returns: `assignment[i]` = column of row i.
public func linearSumAssignment(cost: UnsafePointer<Double>, rows n: Int, columns m: Int) -> [Int] {
    n == m ? jonkerVolgenantAssignment(cost: cost, n: n) : hungarianAssignment(cost: cost, rows: n, columns: m)
}

/// Shortest-augmenting-path Hungarian algorithm with dual potentials (Kuhn–Munkres in the form of
/// e-maxx / Jonker–Volgenant's Dijkstra phase): O(n²·m) time, O(n + m) extra memory; n ≤ m. The simple
/// reference solver; `jonkerVolgenantAssignment` is much faster on square problems.
public func hungarianAssignment(cost: UnsafePointer<Double>, rows n: Int, columns m: Int) -> [Int] {
    precondition(n >= 0 && n <= m, "linearSumAssignment needs rows ≤ columns, got \(n) × \(m)")
    if n == 0 { return [] }
    // 1-based potentials; p[j] = row matched to column j (0 = free).
    var u = [Double](repeating: 0, count: n + 1)
    var v = [Double](repeating: 0, count: m + 1)
    var p = [Int](repeating: 0, count: m + 1)
    var way = [Int](repeating: 0, count: m + 1)
    var minv = [Double](repeating: 0, count: m + 1)
    var used = [Bool](repeating: false, count: m + 1)
    u.withUnsafeMutableBufferPointer { u in
    v.withUnsafeMutableBufferPointer { v in
    p.withUnsafeMutableBufferPointer { p in
    way.withUnsafeMutableBufferPointer { way in
    minv.withUnsafeMutableBufferPointer { minv in
    used.withUnsafeMutableBufferPointer { used in
        for i in 1...n {
            p[0] = i
            var j0 = 0
            for j in 0...m { minv[j] = .infinity; used[j] = false }
            repeat {
                used[j0] = true
                let i0 = p[j0]
                var delta = Double.infinity
                var j1 = 0
                let row = cost + (i0 &- 1) &* m
                let ui0 = u[i0]
                for j in 1...m where !used[j] {
                    let cur = row[j &- 1] - ui0 - v[j]
                    if cur < minv[j] { minv[j] = cur; way[j] = j0 }
                    if minv[j] < delta { delta = minv[j]; j1 = j }
                }
                for j in 0...m {
                    if used[j] { u[p[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
                }
                j0 = j1
            } while p[j0] != 0
            repeat {
                let j1 = way[j0]
                p[j0] = p[j1]
                j0 = j1
            } while j0 != 0
        }
    } } } } } }
    var assignment = [Int](repeating: -1, count: n)
    for j in 1...m where p[j] > 0 { assignment[p[j] - 1] = j - 1 }
    return assignment
}

/// Jonker & Volgenant (1987) "A shortest augmenting path algorithm for dense and sparse linear
/// assignment problems" (LAPJV) for a square n × n cost matrix: column reduction, reduction transfer,
/// two rounds of augmenting row reduction (capped at 8n iterations, which guards against the known
/// floating-point cycling), then one Dijkstra shortest augmenting path per remaining free row (relax
/// and next-minimum fused in one contiguous pass per scanned row) with lazy price updates. Worst case O(n³); on random dense costs the initialisation assigns most rows, which
/// makes it several times faster than the plain Hungarian method. Exact for finite costs.
public func jonkerVolgenantAssignment(cost: UnsafePointer<Double>, n: Int) -> [Int] {
    jonkerVolgenantAssignment(cost: cost, n: n, workspace: nil)
}

/// `jonkerVolgenantAssignment` with buffers lent by `workspace`.
func jonkerVolgenantAssignment(cost: UnsafePointer<Double>, n: Int, workspace: ExactOTWorkspace?) -> [Int] {
    precondition(n >= 0)
    if n == 0 { return [] }
    if n == 1 { return [0] }
    var rowsolA = [Int](repeating: -1, count: n), colsolA = [Int](repeating: -1, count: n)
    var vA = [Double](repeating: 0, count: n), dA = [Double](repeating: 0, count: n)
    var freeA = [Int](repeating: 0, count: n)
    var matchesA = [Int](repeating: 0, count: n), predA = [Int](repeating: 0, count: n)
    rowsolA.withUnsafeMutableBufferPointer { rowsol in colsolA.withUnsafeMutableBufferPointer { colsol in
    vA.withUnsafeMutableBufferPointer { v in dA.withUnsafeMutableBufferPointer { d in
    freeA.withUnsafeMutableBufferPointer { free in
    matchesA.withUnsafeMutableBufferPointer { matches in predA.withUnsafeMutableBufferPointer { pred in
        var numFree = 0
        // Initial prices and partial matching: ε-scaled auction (AuctionInit.swift), or, when it
        // declines (constant costs), JV's column reduction + augmenting row reduction.
        let seeded = auctionInitialisation(cost: cost, n: n, v: v.baseAddress!, rowsol: rowsol.baseAddress!,
                                           colsol: colsol.baseAddress!, workspace: workspace)
        if !seeded {
            // Column reduction (columns in reverse order, as the original).
            for j in stride(from: n - 1, through: 0, by: -1) {
                var minimum = cost[j], imin = 0
                for i in 1..<n where cost[i &* n &+ j] < minimum { minimum = cost[i &* n &+ j]; imin = i }
                v[j] = minimum
                matches[imin] &+= 1
                if matches[imin] == 1 {
                    rowsol[imin] = j; colsol[j] = imin
                } else if v[j] < v[rowsol[imin]] {
                    let j1 = rowsol[imin]
                    rowsol[imin] = j; colsol[j] = imin; colsol[j1] = -1
                } else {
                    colsol[j] = -1
                }
            }
            // Reduction transfer.
            for i in 0..<n {
                if matches[i] == 0 {
                    free[numFree] = i; numFree &+= 1
                } else if matches[i] == 1 {
                    let j1 = rowsol[i]
                    var minimum = Double.infinity
                    let row = cost + i &* n
                    for j in 0..<n where j != j1 { let h = row[j] - v[j]; if h < minimum { minimum = h } }
                    v[j1] -= minimum
                }
            }
            // Rows that lost their column in the column reduction stay in rowsol but are not matched.
            for i in 0..<n where matches[i] > 1 && colsol[rowsol[i]] != i { rowsol[i] = -1 }
            // Augmenting row reduction, two rounds.
            var budget = 8 &* n
            for _ in 0..<2 {
                var k = 0
                let previous = numFree
                numFree = 0
                while k < previous {
                    let i = free[k]; k &+= 1
                    budget &-= 1
                    if budget < 0 { free[numFree] = i; numFree &+= 1; continue }
                    let row = cost + i &* n
                    var umin = row[0] - v[0], j1 = 0, j2 = -1
                    var usubmin = Double.infinity
                    for j in 1..<n {
                        let h = row[j] - v[j]
                        if h < usubmin {
                            if h >= umin { usubmin = h; j2 = j } else { usubmin = umin; umin = h; j2 = j1; j1 = j }
                        }
                    }
                    var i0 = colsol[j1]
                    if umin < usubmin {
                        v[j1] -= usubmin - umin
                    } else if i0 >= 0 && j2 >= 0 {
                        j1 = j2; i0 = colsol[j2]
                    }
                    if i0 >= 0 { rowsol[i0] = -1 }
                    rowsol[i] = j1; colsol[j1] = i
                    if i0 >= 0 {
                        if umin < usubmin { k &-= 1; free[k] = i0 } else { free[numFree] = i0; numFree &+= 1 }
                    }
                }
            }
        }
        // Remaining free rows: the capped reduction may have left some out of the list; rebuild it.
        numFree = 0
        for i in 0..<n where rowsol[i] < 0 { free[numFree] = i; numFree &+= 1 }
        // Shortest augmenting paths (Dijkstra on reduced costs). Each scanned row relaxes every
        // column and finds the next minimum in one AVX2 pass (cflow_lap_relax); scanned columns carry a
        // +∞ penalty so that they are neither relaxed nor chosen. Predecessors are kept as Doubles so
        // the pass stays in vector registers.
        var dP = [Double](repeating: .infinity, count: n)
        var penaltyP = [Double](repeating: .infinity, count: n), predP = [Double](repeating: 0, count: n)
        var scannedList = [Int](repeating: 0, count: n)
        dP.withUnsafeMutableBufferPointer { dd in
        penaltyP.withUnsafeMutableBufferPointer { pen in predP.withUnsafeMutableBufferPointer { pr in
        scannedList.withUnsafeMutableBufferPointer { order in
        for f in 0..<numFree {
            let freeRow = free[f]
            let frow = cost + freeRow &* n
            var best = Double.infinity, bestJ = 0
            for j in 0..<n {
                pen[j] = 0; pr[j] = Double(freeRow)
                let dj = frow[j] - v[j]
                dd[j] = dj
                if dj < best { best = dj; bestJ = j }
            }
            var scannedCount = 0
            var endOfPath: Int
            while true {
                let j1 = bestJ
                let mu = best
                if colsol[j1] < 0 { endOfPath = j1; break }
                pen[j1] = .infinity
                order[scannedCount] = j1; scannedCount &+= 1
                let i = colsol[j1]
                let row = cost + i &* n
                let h = row[j1] - v[j1] - mu
                var found = 0
                best = cflow_lap_relax(row, UnsafePointer(v.baseAddress!), pen.baseAddress!, dd.baseAddress!, pr.baseAddress!,
                                       h, Double(i), n, &found)
                bestJ = found
                if !(best < .infinity) { bestJ = 0; for j in 0..<n where pen[j] == 0 { bestJ = j; best = dd[j]; break } }
            }
            // Price update of the scanned columns (d[j] ≤ μ = d[endOfPath]).
            let mu = dd[endOfPath]
            for k in 0..<scannedCount { let j1 = order[k]; v[j1] += dd[j1] - mu }
            // Augment along the alternating path.
            var i: Int
            repeat {
                i = Int(pr[endOfPath])
                colsol[endOfPath] = i
                let j1 = endOfPath
                endOfPath = rowsol[i]
                rowsol[i] = j1
            } while i != freeRow
        }
        } } } }
    } } } } } } }
    return rowsolA
}

/// Squared Euclidean distances between the rows of a [n, d] and b [m, d] as an n × m Double matrix.
public func squaredDistances(_ a: Tensor, _ b: Tensor) -> [Double] {
    precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[1], "squaredDistances needs [n, d] and [m, d]")
    let n = a.shape[0], m = b.shape[0], d = a.shape[1]
    // The kernel writes every entry, so the matrix is not zero-filled first.
    let out = [Double](unsafeUninitializedCapacity: n * m) { o, initialized in
        if n > 0 && m > 0 { cflow_squared_distances(a.storage.pointer, b.storage.pointer, n, m, d, o.baseAddress!) }
        initialized = n * m
    }
    return withExtendedLifetime((a, b)) { out }
}

/// Buffers reused across `exactOTPermutation` calls (the n × n Double cost matrix and the auction's
/// single-precision copy, 12·n² bytes): a trainer solving one OT problem per step keeps one, so that the
/// matrices are not allocated — and their pages faulted in — at every step. Not thread-safe: one
/// workspace per thread.
public final class ExactOTWorkspace {
    var double: [Double] = []
    var single: [Float] = []

    public init() {}

    /// The Float buffer, moved out (so that it is uniquely referenced while in use); give it back by
    /// assigning `single`.
    func takeSingle(_ count: Int) -> [Float] {
        var taken: [Float] = []
        swap(&taken, &single)
        return taken.count >= count ? taken : []
    }
}

/// Exact optimal-transport pairing of two equal-size point sets under squared Euclidean cost:
/// `permutation[j]` is the row of `a` matched to row j of `b`. `workspace` (optional) lends the
/// matrices for repeated calls; the result does not depend on it.
public func exactOTPermutation(_ a: Tensor, _ b: Tensor, workspace: ExactOTWorkspace? = nil) -> [Int] {
    precondition(a.shape == b.shape && a.rank == 2, "exact OT pairing needs equal [n, d] shapes, got \(a.shape) and \(b.shape)")
    let n = a.shape[0], d = a.shape[1]
    if n == 0 { return [] }
    // rows = b so that the result indexes a by b's order (b keeps its order, as torchcfm's scipy path).
    var cost: [Double] = []
    if let workspace { swap(&cost, &workspace.double) }
    if cost.count < n * n { cost = [Double](unsafeUninitializedCapacity: n * n) { _, initialized in initialized = n * n } }
    defer { if let workspace { swap(&cost, &workspace.double) } }
    return cost.withUnsafeMutableBufferPointer { c in
        cflow_squared_distances(b.storage.pointer, a.storage.pointer, n, n, d, c.baseAddress!)
        return withExtendedLifetime((a, b)) { jonkerVolgenantAssignment(cost: UnsafePointer(c.baseAddress!), n: n, workspace: workspace) }
    }
}
