import FlowTensor
import FlowAutodiff

/// NBFNet's aggregation step (Zhu et al. 2021, `GeneralizedRelationalConv` with DistMult messages and PNA
/// aggregation) for a batch of B Bellman–Ford runs on one homogeneous graph, fused into one autodiff op.
///
/// The state h [n·B, d] holds row v·B + b = node v in run b (so node v's B·d values are contiguous). Every
/// directed edge x → v of `adjacency` (0/1, rows receive) carries R relations (one relation and its inverse:
/// R = 2), each a DistMult message h_x ⊙ w_r; node v also receives its boundary β_v (the indicator state). Per
/// node, run and channel the op returns the PNA statistics of that message set (size R·deg(v) + 1):
///
///     [mean | max | min | std]  → [n·B, 4d],   std = √max(E[m²] − E[m]², ε)
///
/// Because every message is h_x scaled per channel, the four statistics follow from the neighbour sum, sum of
/// squares, maximum and minimum of h (the extreme of w·h over x is w·max h or w·min h by the sign of w): one
/// SpMM-like pass per layer instead of R·|E| materialised messages. Backward: exact (sub)gradients; max/min
/// route to the selected neighbour, relation and extreme (ties: the first candidate in a fixed order).
public func pnaDistMultAggregate(_ h: Variable, relations w: Variable, boundary: Variable, adjacency a: CSRMatrix,
                                 batch: Int, epsilon: Float = 1e-6) -> Variable {
    let n = a.rowCount, d = w.shape[1], relationCount = w.shape[0], lanes = batch &* d
    precondition(h.shape == [n &* batch, d] && boundary.shape == h.shape && w.rank == 2 && w.shape[0] <= 60,
                 "pnaDistMultAggregate: h \(h.shape), boundary \(boundary.shape), relations \(w.shape), \(n) nodes × \(batch) runs")
    let hNode = h.value.reshaped([n, lanes])
    let s1 = a.multiply(hNode)
    let s2 = a.multiply(hNode * hNode)
    var maxima = Tensor(zeros: [n, lanes]), minima = Tensor(zeros: [n, lanes])
    var argMax = [Int32](repeating: 0, count: n &* lanes), argMin = argMax
    let hp = hNode.storage.pointer
    maxima.withUnsafeMutableBufferPointer { mx in minima.withUnsafeMutableBufferPointer { mn in
        argMax.withUnsafeMutableBufferPointer { ax in argMin.withUnsafeMutableBufferPointer { an in
            withPattern(a) { rp, ci in
                for v in 0..<n where rp[v] < rp[v &+ 1] {
                    let o = v &* lanes
                    let first = ci[rp[v]]
                    for l in 0..<lanes { mx[o &+ l] = hp[first &* lanes &+ l]; mn[o &+ l] = mx[o &+ l]; ax[o &+ l] = Int32(first); an[o &+ l] = Int32(first) }
                    for k in (rp[v] &+ 1)..<rp[v &+ 1] {
                        let x = ci[k], src = hp + x &* lanes
                        for l in 0..<lanes {
                            let value = src[l]
                            if value > mx[o &+ l] { mx[o &+ l] = value; ax[o &+ l] = Int32(x) }
                            if value < mn[o &+ l] { mn[o &+ l] = value; an[o &+ l] = Int32(x) }
                        }
                    }
                }
            }
        } }
    } }
    let out = Tensor(zeros: [n &* batch, 4 &* d])
    let wv = w.value.scalars
    var wSum = [Float](repeating: 0, count: d), wSquares = wSum
    for r in 0..<relationCount { for c in 0..<d { wSum[c] += wv[r &* d &+ c]; wSquares[c] += wv[r &* d &+ c] * wv[r &* d &+ c] } }
    let degrees = (0..<n).map { a.rowPointers[$0 &+ 1] - a.rowPointers[$0] }
    let boundaryValue = boundary.value
    let s1p = s1.storage.pointer, s2p = s2.storage.pointer, mxp = maxima.storage.pointer, mnp = minima.storage.pointer
    let bp = boundaryValue.storage.pointer, op = out.storage.pointer

    // The selected candidate of every max and min (see `pnaExtreme`), kept for the backward pass.
    var maxCodes = [Int8](repeating: -1, count: n &* lanes), minCodes = maxCodes
    wv.withUnsafeBufferPointer { relations in maxCodes.withUnsafeMutableBufferPointer { mxc in minCodes.withUnsafeMutableBufferPointer { mnc in
        for v in 0..<n {
            let inverseCount = 1 / Float(relationCount &* degrees[v] &+ 1), hasNeighbours = degrees[v] > 0
            for b in 0..<batch {
                let row = op + (v &* batch &+ b) &* 4 &* d
                for c in 0..<d {
                    let i = v &* lanes &+ b &* d &+ c
                    let beta = bp[i]
                    let mean = (wSum[c] * s1p[i] + beta) * inverseCount
                    let square = (wSquares[c] * s2p[i] + beta * beta) * inverseCount
                    row[c] = mean
                    let largest = pnaExtreme(i, c, d, relationCount, hasNeighbours, true, bp, mxp, mnp, relations)
                    let smallest = pnaExtreme(i, c, d, relationCount, hasNeighbours, false, bp, mxp, mnp, relations)
                    row[d &+ c] = largest.0; mxc[i] = Int8(truncatingIfNeeded: largest.1)
                    row[2 &* d &+ c] = smallest.0; mnc[i] = Int8(truncatingIfNeeded: smallest.1)
                    row[3 &* d &+ c] = Swift.max(square - mean * mean, epsilon).squareRoot()
                }
            }
        }
    } } }
    return withExtendedLifetime((hNode, s1, s2, maxima, minima, boundaryValue, wv)) {
        Variable(out, inputs: [h, w, boundary]) { g in
            // Re-derive the saved buffers from the captured tensors (keeps them alive for the backward pass).
            let s1p = s1.storage.pointer, s2p = s2.storage.pointer, mxp = maxima.storage.pointer, mnp = minima.storage.pointer
            let bp = boundaryValue.storage.pointer
            return wv.withUnsafeBufferPointer { relations in
            var gS1 = Tensor(zeros: [n, lanes]), gS2 = Tensor(zeros: [n, lanes])
            var gH = Tensor(zeros: [n, lanes]), gBeta = Tensor(zeros: [n &* batch, d])
            var gW = [Double](repeating: 0, count: relationCount &* d)
            var gMeanW = [Double](repeating: 0, count: d), gSquareW = gMeanW
            let gp = g.storage.pointer
            gS1.withUnsafeMutableBufferPointer { g1 in gS2.withUnsafeMutableBufferPointer { g2 in
                gH.withUnsafeMutableBufferPointer { gh in gBeta.withUnsafeMutableBufferPointer { gb in
                    for v in 0..<n {
                        let inverseCount = 1 / Float(relationCount &* degrees[v] &+ 1)
                        for b in 0..<batch {
                            let row = gp + (v &* batch &+ b) &* 4 &* d
                            for c in 0..<d {
                                let i = v &* lanes &+ b &* d &+ c
                                let beta = bp[i]
                                let mean = (wSum[c] * s1p[i] + beta) * inverseCount
                                let square = (wSquares[c] * s2p[i] + beta * beta) * inverseCount
                                let variance = square - mean * mean
                                var gMean = row[c], gSquare: Float = 0
                                if variance > epsilon {
                                    let std = variance.squareRoot()
                                    gSquare = row[3 &* d &+ c] / (2 * std)
                                    gMean -= row[3 &* d &+ c] * mean / std
                                }
                                let gm = gMean * inverseCount, gs = gSquare * inverseCount
                                g1[i] = gm * wSum[c]
                                g2[i] = gs * wSquares[c]
                                gb[i] = gm + gs * 2 * beta
                                gMeanW[c] += Double(gm * s1p[i]); gSquareW[c] += Double(gs * s2p[i])
                                for k in 1...2 {
                                    let gk = row[k &* d &+ c]
                                    if gk == 0 { continue }
                                    let code = Int(k == 1 ? maxCodes[i] : minCodes[i])
                                    if code < 0 { gb[i] += gk; continue }
                                    let r = code / 2, useMax = code % 2 == 0
                                    gW[r &* d &+ c] += Double(gk * (useMax ? mxp[i] : mnp[i]))
                                    let x = Int(useMax ? argMax[i] : argMin[i])
                                    gh[x &* lanes &+ b &* d &+ c] += gk * relations[r &* d &+ c]
                                }
                            }
                        }
                    }
                    // Mean and square paths of the relation vectors: ∂w_rc = Σ gm·S1 + 2 w_rc Σ gs·S2.
                    for r in 0..<relationCount {
                        for c in 0..<d { gW[r &* d &+ c] += gMeanW[c] + 2 * Double(relations[r &* d &+ c]) * gSquareW[c] }
                    }
                } }
            } }
            // Sum and sum-of-squares paths: ∂h += Aᵀ gS1 + 2 h ⊙ Aᵀ gS2.
            let at = a.transposed
            gH.add(at.multiply(gS1))
            gH.add(at.multiply(gS2) * hNode * 2)
            return [gH.reshaped([n &* batch, d]), Tensor(shape: [relationCount, d], scalars: gW.map(Float.init)), gBeta]
            }
        }
    }
}

/// The largest (or smallest) PNA candidate of state element i (channel c): the boundary β_i, and when the node
/// has neighbours w_rc·max h and w_rc·min h for each relation r. Returns the value and a code: −1 = boundary,
/// 2r = w_r·max h, 2r + 1 = w_r·min h (ties keep the earlier candidate).
@inline(__always)
func pnaExtreme(_ i: Int, _ c: Int, _ d: Int, _ relationCount: Int, _ hasNeighbours: Bool, _ largest: Bool,
                _ bp: UnsafeMutablePointer<Float>, _ mxp: UnsafeMutablePointer<Float>, _ mnp: UnsafeMutablePointer<Float>,
                _ w: UnsafeBufferPointer<Float>) -> (Float, Int) {
    var best = bp[i], code = -1
    guard hasNeighbours else { return (best, code) }
    for r in 0..<relationCount {
        let wr = w[r &* d &+ c]
        let a1 = wr * mxp[i], a2 = wr * mnp[i]
        if largest ? a1 > best : a1 < best { best = a1; code = 2 &* r }
        if largest ? a2 > best : a2 < best { best = a2; code = 2 &* r &+ 1 }
    }
    return (best, code)
}
