import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

/// 2-D toy distributions of the [SF]²M / OT-CFM benchmark (Tong et al. 2024, App. F), defined as in
/// torchcfm's `runner/src/datamodules` (read at atong01/conditional-flow-matching):
///
/// - `gaussian`: N(0, I₂).
/// - `eightGaussians` (target of N→8g; torchdyn `generate_gaussians(n_gaussians=8, radius=5,
///   std_gaussians=1, noise=1e-4)`): centres 5·(cos θ_k, sin θ_k), θ_k = 2πk/8, k = 1…8, per-point
///   std 1, equal counts per centre, plus one N(0, 1e−8 I) offset per centre.
/// - `moons` (sklearn `make_moons(noise=0.05)`, ×2, x − 1): outer arc (cos s, sin s), inner arc
///   (1 − cos s, 0.5 − sin s), s on linspace(0, π) with half the points each, N(0, 0.05²) noise per
///   coordinate, then scaled.
/// - `sCurve` (sklearn `make_s_curve(noise=0.05)` columns (0, 2), ×1.5): s = 3π(u − ½), u ~ U(0,1);
///   (sin s, sign(s)(cos s − 1)) + N(0, 0.05²) noise, ×1.5.
/// - `moonsDSB` / `eightGaussiansDSB` (the moons→8g task, runner `two_dim.py`): make_moons(noise=0.1)
///   standardised by its global mean and std, ×7; and 8 unit-circle centres ×4 with std 0.5, all ×3
///   (so radius 12, std 1.5).
/// - `checkerboard` (FFJORD toy data): x ~ U(−2, 2), y ~ U(0, 1) − 2·Bernoulli(½) + (⌊x⌋ mod 2), ×2.
/// - `spirals` (FFJORD `2spirals`): r = √u·540·2π/360, u ~ U(0, 1); arm 1 = (−cos r·r + 0.5u′,
///   sin r·r + 0.5u″), arm 2 = its negation (half the points each), all /3, plus N(0, 0.1²) noise.
///
/// Points are shuffled; generators built on linspace (moons) give a fresh linspace for each call.
/// `sampleWithLabels` also returns a class per point (`classCount` classes): moons — outer 0, inner 1;
/// 8 Gaussians — the centre index; spirals — the arm; the others — 0.
public enum ToyDistribution: String, CaseIterable, Sendable {
    case gaussian, eightGaussians = "8gaussians", moons, sCurve = "scurve", checkerboard
    case moonsDSB = "moons-dsb", eightGaussiansDSB = "8gaussians-dsb", spirals

    /// Number of classes `sampleWithLabels` uses.
    public var classCount: Int {
        switch self {
        case .moons, .moonsDSB, .spirals: return 2
        case .eightGaussians, .eightGaussiansDSB: return 8
        default: return 1
        }
    }

    /// n points [n, 2].
    public func sample(_ n: Int, rng: inout RandomGenerator) -> Tensor { sampleWithLabels(n, rng: &rng).points }

    /// n points [n, 2] and their classes (same random stream as `sample`).
    public func sampleWithLabels(_ n: Int, rng: inout RandomGenerator) -> (points: Tensor, labels: [Int32]) {
        precondition(n >= 0)
        var pts = [Float](repeating: 0, count: 2 * n)
        var labels = [Int32](repeating: 0, count: n)
        switch self {
        case .gaussian:
            for k in 0..<(2 * n) { pts[k] = rng.nextNormal() }
            return (Tensor(shape: [n, 2], scalars: pts), labels)
        case .eightGaussians:
            // Equal counts per centre (remainder spread over the first centres), then shuffled.
            var k = 0
            for c in 0..<8 {
                let count = n / 8 + (c < n % 8 ? 1 : 0)
                let theta = 2 * Double.pi * Double(c + 1) / 8
                let ox = 1e-4 * Double(rng.nextNormal()), oy = 1e-4 * Double(rng.nextNormal())
                for _ in 0..<count {
                    pts[2 * k] = Float(5 * cos(theta) + ox) + rng.nextNormal()
                    pts[2 * k + 1] = Float(5 * sin(theta) + oy) + rng.nextNormal()
                    labels[k] = Int32(c)
                    k += 1
                }
            }
        case .moons, .moonsDSB:
            let noise: Float = self == .moons ? 0.05 : 0.1
            let nOut = n / 2, nIn = n - nOut
            func lin(_ i: Int, _ count: Int) -> Double { count > 1 ? Double.pi * Double(i) / Double(count - 1) : 0 }
            for i in 0..<nOut {
                let s = lin(i, nOut)
                pts[2 * i] = Float(cos(s)) + noise * rng.nextNormal()
                pts[2 * i + 1] = Float(sin(s)) + noise * rng.nextNormal()
            }
            for i in 0..<nIn {
                let s = lin(i, nIn), k = nOut + i
                pts[2 * k] = Float(1 - cos(s)) + noise * rng.nextNormal()
                pts[2 * k + 1] = Float(0.5 - sin(s)) + noise * rng.nextNormal()
                labels[k] = 1
            }
            if self == .moons {
                for i in 0..<n { pts[2 * i] = pts[2 * i] * 2 - 1; pts[2 * i + 1] *= 2 }
            } else if n > 1 {
                var mean = 0.0
                for v in pts { mean += Double(v) }
                mean /= Double(pts.count)
                var variance = 0.0
                for v in pts { variance += (Double(v) - mean) * (Double(v) - mean) }
                let std = (variance / Double(pts.count - 1)).squareRoot()   // torch.std is unbiased
                for k in pts.indices { pts[k] = Float((Double(pts[k]) - mean) / std * 7) }
            }
        case .sCurve:
            for i in 0..<n {
                let s = 3 * Double.pi * (rng.nextUniformDouble() - 0.5)
                _ = rng.nextUniform()                                   // the unused y coordinate
                let x = Float(sin(s)) + 0.05 * rng.nextNormal()
                let z = Float((s < 0 ? -1.0 : (s > 0 ? 1.0 : 0.0)) * (cos(s) - 1)) + 0.05 * rng.nextNormal()
                pts[2 * i] = 1.5 * x
                pts[2 * i + 1] = 1.5 * z
            }
        case .checkerboard:
            for i in 0..<n {
                let x1 = rng.nextUniform() * 4 - 2
                let x2 = rng.nextUniform() - Float(rng.nextInt(below: 2) * 2)
                let shifted = x2 + Float(Int(floor(Double(x1))) & 1)
                pts[2 * i] = 2 * x1
                pts[2 * i + 1] = 2 * shifted
            }
        case .eightGaussiansDSB:
            let r = Float(1 / 2.0.squareRoot())
            let centres: [(Float, Float)] = [(1, 0), (-1, 0), (0, 1), (0, -1), (r, r), (r, -r), (-r, r), (-r, -r)]
            for i in 0..<n {
                let ci = rng.nextInt(below: 8)
                let c = centres[ci]
                labels[i] = Int32(ci)
                pts[2 * i] = 3 * (4 * c.0 + 0.5 * rng.nextNormal())
                pts[2 * i + 1] = 3 * (4 * c.1 + 0.5 * rng.nextNormal())
            }
        case .spirals:
            let half = n / 2
            for i in 0..<n {
                let r = Double(rng.nextUniform()).squareRoot() * 540 * 2 * Double.pi / 360
                let x = -cos(r) * r + 0.5 * Double(rng.nextUniform())
                let y = sin(r) * r + 0.5 * Double(rng.nextUniform())
                let sign: Double = i < half ? 1 : -1
                labels[i] = i < half ? 0 : 1
                pts[2 * i] = Float(sign * x / 3) + 0.1 * rng.nextNormal()
                pts[2 * i + 1] = Float(sign * y / 3) + 0.1 * rng.nextNormal()
            }
        }
        // Shuffle rows (the linspace/centre-ordered generators would otherwise be sorted).
        let perm = rng.permutation(n)
        var shuffled = [Float](repeating: 0, count: 2 * n)
        var shuffledLabels = [Int32](repeating: 0, count: n)
        for (i, r) in perm.enumerated() {
            shuffled[2 * i] = pts[2 * r]; shuffled[2 * i + 1] = pts[2 * r + 1]
            shuffledLabels[i] = labels[r]
        }
        return (Tensor(shape: [n, 2], scalars: shuffled), shuffledLabels)
    }
}
