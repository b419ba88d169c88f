import FlowTensor
import FlowAutodiff

// Fused row-wise ops of the NBF layer (each one pass forward and one backward over the [n·B, d] state,
// instead of the ~10 passes of the composed ops).

/// u = q + p₀ + s ⊙ p₁ + s⁻ ⊙ p₂ for p = [p₀ | p₁ | p₂] [rows, 3d], q [rows, d] and per-row constants s, s⁻
/// [rows]: the degree-scaled PNA features through the layer's linear map. Backward: ∂q = g, ∂p = [g | s·g | s⁻·g].
func scaledCombine(_ q: Variable, _ p: Variable, scale: [Float], inverseScale: [Float]) -> Variable {
    let rows = q.shape[0], d = q.shape[1]
    precondition(p.shape == [rows, 3 * d] && scale.count == rows && inverseScale.count == rows, "scaledCombine: shapes")
    let out = Tensor(uninitialized: [rows, d])
    let qp = q.value.storage.pointer, pp = p.value.storage.pointer, op = out.storage.pointer
    for r in 0..<rows {
        let s = scale[r], t = inverseScale[r], prow = pp + r &* 3 &* d, qrow = qp + r &* d, orow = op + r &* d
        for c in 0..<d { orow[c] = qrow[c] + prow[c] + s * prow[d &+ c] + t * prow[2 &* d &+ c] }
    }
    return withExtendedLifetime((q, p)) {
        Variable(out, inputs: [q, p]) { g in
            let gp = Tensor(uninitialized: [rows, 3 * d])
            let src = g.storage.pointer, dst = gp.storage.pointer
            for r in 0..<rows {
                let s = scale[r], t = inverseScale[r], grow = src + r &* d, drow = dst + r &* 3 &* d
                for c in 0..<d { drow[c] = grow[c]; drow[d &+ c] = s * grow[c]; drow[2 &* d &+ c] = t * grow[c] }
            }
            return [g, gp]
        }
    }
}

/// ReLU(LayerNorm(u)) over the last axis with affine γ, β (biased variance, ε = 1e-5, as `LayerNorm`).
func layerNormReLU(_ u: Variable, gamma: Variable, beta: Variable, epsilon: Float = 1e-5) -> Variable {
    let rows = u.shape[0], d = u.shape[1]
    let out = Tensor(uninitialized: [rows, d]), normalized = Tensor(uninitialized: [rows, d])
    var inverseStd = [Float](repeating: 0, count: rows)
    let up = u.value.storage.pointer, op = out.storage.pointer, np = normalized.storage.pointer
    let gv = gamma.value.scalars, bv = beta.value.scalars
    for r in 0..<rows {
        let x = up + r &* d
        var mean: Float = 0
        for c in 0..<d { mean += x[c] }
        mean /= Float(d)
        var variance: Float = 0
        for c in 0..<d { let z = x[c] - mean; variance += z * z }
        let inv = 1 / (variance / Float(d) + epsilon).squareRoot()
        inverseStd[r] = inv
        for c in 0..<d {
            let z = (x[c] - mean) * inv
            np[r &* d &+ c] = z
            op[r &* d &+ c] = Swift.max(gv[c] * z + bv[c], 0)
        }
    }
    return withExtendedLifetime(u) {
        Variable(out, inputs: [u, gamma, beta]) { g in
            let gu = Tensor(uninitialized: [rows, d])
            var gGamma = [Float](repeating: 0, count: d), gBeta = gGamma
            let gp = g.storage.pointer, np = normalized.storage.pointer, op = out.storage.pointer, dst = gu.storage.pointer
            var gz = [Float](repeating: 0, count: d)
            for r in 0..<rows {
                var sum: Float = 0, dot: Float = 0
                for c in 0..<d {
                    let i = r &* d &+ c
                    let gy = op[i] > 0 ? gp[i] : 0
                    gGamma[c] += gy * np[i]; gBeta[c] += gy
                    gz[c] = gy * gv[c]
                    sum += gz[c]; dot += gz[c] * np[i]
                }
                let inv = inverseStd[r], meanG = sum / Float(d), meanDot = dot / Float(d)
                for c in 0..<d { dst[r &* d &+ c] = inv * (gz[c] - meanG - np[r &* d &+ c] * meanDot) }
            }
            return [gu, Tensor(shape: [d], scalars: gGamma), Tensor(shape: [d], scalars: gBeta)]
        }
    }
}
