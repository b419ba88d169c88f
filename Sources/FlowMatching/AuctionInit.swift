import CFlowSupport

/// Initial column prices and partial matching for `jonkerVolgenantAssignment` by Bertsekas' auction
/// with ε-scaling (Bertsekas 1988; Bertsekas & Castañon 1991), minimisation form: row i prefers the
/// column minimising c_ij − v_j; a bid on the best column j1 lowers v_j1 by (second best − best) + ε and
/// evicts its previous owner. ε starts at (max c − min c)/8 and shrinks ×1/6 per phase to
/// 10⁻⁴·(max c − min c); each phase restarts from an empty matching with the current prices.
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
/// Returns false (nothing written) for (near-)constant costs, where the plain JV initialisation is
/// used. A bid budget (32·n² bids in total) guards the pseudo-polynomial worst case; when it runs out
/// the matching is dropped and only the prices are kept (still a valid start).
func auctionInitialisation(cost: UnsafePointer<Double>, n: Int, v: UnsafeMutablePointer<Double>,
                           rowsol: UnsafeMutablePointer<Int>, colsol: UnsafeMutablePointer<Int>) -> Bool {
    var lo = 0.0, hi = 0.0
    cflow_min_max(cost, n &* n, &lo, &hi)
    let range = hi - lo, scale = Swift.max(abs(lo), abs(hi))
    guard range.isFinite, range > scale * 1e-9, n >= 2 else { return false }
    for j in 0..<n { v[j] = 0 }
    let epsFinal = Swift.max(range * 1e-4, scale * 1e-12)
    var eps = Swift.max(range / 8, epsFinal)
    var budget = 32 &* n &* n
    var queue = [Int](repeating: 0, count: n)
    queue.withUnsafeMutableBufferPointer { queue in
        phases: while true {
            for j in 0..<n { colsol[j] = -1 }
            for i in 0..<n { rowsol[i] = -1; queue[i] = i }
            var pending = n
            while pending > 0 {
                budget &-= 1
                if budget < 0 {
                    for j in 0..<n { colsol[j] = -1 }
                    for i in 0..<n { rowsol[i] = -1 }
                    break phases
                }
                pending &-= 1
                let i = queue[pending]
                var w1 = 0.0, w2 = 0.0
                let j1 = cflow_lap_best_two(cost + i &* n, v, n, &w1, &w2)
                v[j1] -= (w2 - w1) + eps
                let previous = colsol[j1]
                colsol[j1] = i; rowsol[i] = j1
                if previous >= 0 { rowsol[previous] = -1; queue[pending] = previous; pending &+= 1 }
            }
            if eps <= epsFinal { break }
            eps = Swift.max(eps / 6, epsFinal)
        }
    }
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
