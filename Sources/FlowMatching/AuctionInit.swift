import CFlowSupport

/// Initial column prices and partial matching for `jonkerVolgenantAssignment` by Bertsekas' auction
/// with ε-scaling (Bertsekas 1988; Bertsekas & Castañon 1991), minimisation form: row i prefers the
/// column minimising c_ij − v_j; a bid on the best column j1 lowers v_j1 by (second best − best) + ε and
/// evicts its previous owner. ε starts at (max c − min c)/8 and shrinks ×1/6 per phase to
/// 10⁻⁴·(max c − min c); each phase restarts from an empty matching with the current prices, and
/// unassigned rows bid in first-in-first-out order (about 5% fewer bids than a stack at n = 256).
///
/// The auction result is only ε-optimal, so it is not returned as the answer. It seeds the exact
/// shortest-augmenting-path phase instead: each matched column's price is raised until it ties with
/// its row's second-best column ("reduction transfer", JV 1987), then every match that is not a row
/// minimum under the final prices is dropped. What remains is a partial matching on tight edges with
/// reduced costs ≥ 0 — exactly the invariant JV's Dijkstra phase needs — and because the prices are
/// nearly optimal, few rows stay free and their augmenting paths are short (on 2-D minibatch-OT costs
/// at n = 256: ~60–100 free rows and a few hundred scanned columns, against ~170 and ~10 000 after
/// JV's own column reduction + augmenting row reduction). Exactness does not depend on the auction.
///
/// The bids run in single precision on a Float copy of the costs (shifted by their minimum when they
/// are far from zero), which halves the memory traffic of each bid scan; rounding (~range·6·10⁻⁸) is far
/// below the final ε and never reaches the exact phase, which uses the Double costs. A phase stops when
/// at most n/32 rows are unassigned: the last bids of a phase are long price wars, and the next phase —
/// or, after the last one, the exact phase — settles those rows more cheaply (at n = 256 this and the
/// single-precision bids cut the assignment time by about a third).
///
/// Returns false (nothing written) for (near-)constant costs or costs outside Float's range, where the
/// plain JV initialisation is used. A bid budget (32·n² bids in total) guards the pseudo-polynomial
/// worst case; when it runs out the matching is dropped and only the prices are kept (still a valid
/// start).
///
/// `workspace` (optional) lends the n² Float buffer for repeated solves.
func auctionInitialisation(cost: UnsafePointer<Double>, n: Int, v: UnsafeMutablePointer<Double>,
                           rowsol: UnsafeMutablePointer<Int>, colsol: UnsafeMutablePointer<Int>,
                           workspace: ExactOTWorkspace? = nil) -> Bool {
    // Bids run in single precision (only the final prices leave this block; the steps below and the
    // exact phase use the Double costs). The rounding must stay far below the final ε = 10⁻⁴·range:
    // costs far from zero relative to their range are shifted by their minimum first.
    guard n >= 2 else { return false }
    let count = n &* n
    var lo = 0.0, hi = 0.0
    var costF = workspace?.takeSingle(count) ?? []
    if costF.count < count {
        costF = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
    defer { workspace?.single = costF }
    costF.withUnsafeMutableBufferPointer { cflow_to_f32_min_max(cost, count, $0.baseAddress!, &lo, &hi) }
    let range = hi - lo, scale = Swift.max(abs(lo), abs(hi))
    // Single precision needs the range well inside Float's normal numbers.
    guard range.isFinite, range > scale * 1e-9, range > 1e-30, scale < 1e30 else { return false }
    if scale > 16 * range { costF.withUnsafeMutableBufferPointer { cflow_shifted_f32(cost, count, lo, $0.baseAddress!) } }
    var prices = [Float](repeating: 0, count: n)
    let epsFinal = Swift.max(range * 1e-4, scale * 1e-12)
    var eps = Swift.max(range / 8, epsFinal)
    var budget = 32 &* n &* n
    // A phase ends when at most `tail` rows are unassigned: the last bids of a phase are the long
    // price wars, and the next phase (or the exact phase, after the last one) settles those rows.
    let tail = n / 32
    var queue = [Int](repeating: 0, count: n)
    costF.withUnsafeMutableBufferPointer { costF in prices.withUnsafeMutableBufferPointer { vf in
    queue.withUnsafeMutableBufferPointer { queue in
        phases: while true {
            for j in 0..<n { colsol[j] = -1 }
            for i in 0..<n { rowsol[i] = -1; queue[i] = i }
            // Unassigned rows wait in a FIFO ring (evicted rows join the back): fewer bids than a stack.
            var pending = n, head = 0
            let step = Float(eps)
            while pending > tail {
                budget &-= 1
                if budget < 0 {
                    for j in 0..<n { colsol[j] = -1 }
                    for i in 0..<n { rowsol[i] = -1 }
                    break phases
                }
                pending &-= 1
                let i = queue[head]
                head = head &+ 1 == n ? 0 : head &+ 1
                var w1: Float = 0, w2: Float = 0
                let j1 = cflow_lap_best_two_f32(costF.baseAddress! + i &* n, vf.baseAddress!, n, &w1, &w2)
                vf[j1] -= (w2 - w1) + step
                let previous = colsol[j1]
                colsol[j1] = i; rowsol[i] = j1
                if previous >= 0 {
                    rowsol[previous] = -1
                    let back = head &+ pending
                    queue[back >= n ? back &- n : back] = previous
                    pending &+= 1
                }
            }
            if eps <= epsFinal { break }
            eps = Swift.max(eps / 6, epsFinal)
        }
        for j in 0..<n { v[j] = Double(vf[j]) }
    } } }
    // Reduction transfer: each matched column ties with its row's best other column.
    var w1 = 0.0, w2 = 0.0
    for i in 0..<n {
        let j1 = rowsol[i]
        guard j1 >= 0 else { continue }
        let row = cost + i &* n
        let best = cflow_lap_best_two(row, v, n, &w1, &w2)
        v[j1] = row[j1] - (best == j1 ? w2 : w1)
    }
    // Keep only matches that are row minima under the final prices.
    for i in 0..<n {
        let j1 = rowsol[i]
        guard j1 >= 0 else { continue }
        let row = cost + i &* n
        _ = cflow_lap_best_two(row, v, n, &w1, &w2)
        if row[j1] - v[j1] > w1 { rowsol[i] = -1; colsol[j1] = -1 }
    }
    return true
}
