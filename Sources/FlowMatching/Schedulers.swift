import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

/// Coefficients of an affine probability path at one time: x_t = α_t·x1 + σ_t·x0 (Lipman et al. 2024,
/// "Flow Matching Guide and Code", eq. 4.2), with derivatives. t = 0 is the source, t = 1 the data.
///
/// Converting from the "t = 0 data, t = 1 noise" convention (LFM, BFM, Flow-GRPO): use t' = 1 − t and
/// negate the velocity.
public struct SchedulerOutput: Equatable, Sendable {
    /// Data coefficient α_t.
    public var alpha: Double
    /// Source coefficient σ_t.
    public var sigma: Double
    /// dα_t/dt.
    public var dAlpha: Double
    /// dσ_t/dt.
    public var dSigma: Double

    public init(alpha: Double, sigma: Double, dAlpha: Double, dSigma: Double) {
        self.alpha = alpha; self.sigma = sigma; self.dAlpha = dAlpha; self.dSigma = dSigma
    }
}

/// A schedule of an affine path: the whole extension surface is one function t ↦ (α_t, σ_t, α̇_t, σ̇_t).
public protocol Scheduler: Sendable {
    func callAsFunction(_ t: Double) -> SchedulerOutput
}

/// Conditional optimal transport: α_t = t, σ_t = 1 − t (the I-CFM / OT-CFM / rectified-flow line).
public struct CondOTScheduler: Scheduler {
    public init() {}
    public func callAsFunction(_ t: Double) -> SchedulerOutput {
        SchedulerOutput(alpha: t, sigma: 1 - t, dAlpha: 1, dSigma: -1)
    }
}

/// Lipman et al. (2023) FM path: α_t = t, σ_t = 1 − (1 − σ_min)·t, so x_1 keeps σ_min of the source
/// (torchcfm `TargetConditionalFlowMatcher`). Meant for a N(0, I) source.
public struct LipmanScheduler: Scheduler {
    public let sigmaMin: Double
    public init(sigmaMin: Double) { self.sigmaMin = sigmaMin }
    public func callAsFunction(_ t: Double) -> SchedulerOutput {
        SchedulerOutput(alpha: t, sigma: 1 - (1 - sigmaMin) * t, dAlpha: 1, dSigma: -(1 - sigmaMin))
    }
}

/// Trigonometric variance-preserving (cosine) path: α_t = sin(πt/2), σ_t = cos(πt/2)
/// (Albergo & Vanden-Eijnden 2023; torchcfm `VariancePreservingConditionalFlowMatcher`).
public struct TrigonometricVPScheduler: Scheduler {
    public init() {}
    public func callAsFunction(_ t: Double) -> SchedulerOutput {
        let h = Double.pi / 2
        return SchedulerOutput(alpha: sin(h * t), sigma: cos(h * t), dAlpha: h * cos(h * t), dSigma: -h * sin(h * t))
    }
}

/// Variance-preserving path of the score SDE with a linear β schedule (Song et al. 2021, VP-SDE;
/// flow_matching's `VPScheduler`), in our convention t = 0 source, t = 1 data. The SDE runs in diffusion
/// time s = 1 − t (s = 0 data, s = 1 noise) with β(s) = β_min + s(β_max − β_min) and
/// T(s) = ∫₀ˢ β = β_min s + ½ s² (β_max − β_min); then
/// α_t = exp(−½ T(1 − t)), σ_t = √(1 − exp(−T(1 − t))),
/// α̇_t = ½ α_t β(1 − t), σ̇_t = −exp(−T(1 − t)) β(1 − t) / (2σ_t).
/// σ_t → 0 at t = 1, where σ̇_t diverges (−∞ at t = 1 exactly); training draws t ∈ [0, 1). At t = 0
/// the source is not reached exactly: α_0 = exp(−(β_min + β_max)/4) (≈ 0.0066 for 0.1, 20).
public struct BetaVPScheduler: Scheduler {
    public let betaMin: Double
    public let betaMax: Double
    public init(betaMin: Double = 0.1, betaMax: Double = 20) { self.betaMin = betaMin; self.betaMax = betaMax }
    public func callAsFunction(_ t: Double) -> SchedulerOutput {
        let s = 1 - t
        let integral = betaMin * s + 0.5 * s * s * (betaMax - betaMin)
        let beta = betaMin + s * (betaMax - betaMin)
        let decay = exp(-integral)
        let alpha = exp(-0.5 * integral)
        let sigma = Swift.max(1 - decay, 0).squareRoot()
        let dSigma = sigma > 0 ? -decay * beta / (2 * sigma) : -Double.infinity
        return SchedulerOutput(alpha: alpha, sigma: sigma, dAlpha: 0.5 * alpha * beta, dSigma: dSigma)
    }
}

/// Polynomial convex path: α_t = tⁿ, σ_t = 1 − tⁿ.
public struct PolynomialScheduler: Scheduler {
    public let exponent: Double
    public init(exponent: Double) { self.exponent = exponent }
    public func callAsFunction(_ t: Double) -> SchedulerOutput {
        let a = pow(t, exponent)
        let da = exponent * pow(t, exponent - 1)
        return SchedulerOutput(alpha: a, sigma: 1 - a, dAlpha: da, dSigma: -da)
    }
}

/// Extra Gaussian noise γ_t·ε (ε ~ N(0, I)) added on top of the affine path.
public enum NoiseSchedule: Equatable, Sendable {
    /// γ_t = 0.
    case none
    /// γ_t = σ (I-CFM / OT-CFM with σ > 0; Tong et al. 2024 eq. 14).
    case constant(Double)
    /// Brownian bridge γ_t = σ·√(t(1 − t)) (SB-CFM, Tong et al. 2024 eq. 19); γ̇_t = σ(1 − 2t)/(2√(t(1 − t))).
    case brownianBridge(Double)

    /// (γ_t, γ̇_t). The bridge derivative is evaluated with t(1 − t) floored at 1e−8 (as torchcfm).
    public func callAsFunction(_ t: Double) -> (gamma: Double, dGamma: Double) {
        switch self {
        case .none: return (0, 0)
        case .constant(let s): return (s, 0)
        case .brownianBridge(let s):
            let v = t * (1 - t)
            let r = Swift.max(v, 0).squareRoot()
            return (s * r, s * (1 - 2 * t) / (2 * Swift.max(r, 1e-8)))
        }
    }
}

/// A probability path p_t(x | x0, x1) = N(α_t x1 + σ_t x0, γ_t² I) and its conditional velocity
/// u_t = α̇_t x1 + σ̇_t x0 + γ̇_t ε (which equals d x_t/dt for fixed (x0, x1, ε)).
public struct ProbabilityPath: Sendable {
    public let scheduler: any Scheduler
    public let noise: NoiseSchedule

    public init(scheduler: any Scheduler, noise: NoiseSchedule = .none) {
        self.scheduler = scheduler
        self.noise = noise
    }

    /// x_t and u_t for a batch: x0, x1, eps [n, d], t [n] (one time per row). Returns ([n, d], [n, d]).
    public func sample(x0: Tensor, x1: Tensor, t: [Float], eps: Tensor?) -> (xt: Tensor, ut: Tensor) {
        precondition(x0.shape == x1.shape && x0.rank == 2, "x0 \(x0.shape) and x1 \(x1.shape) must be equal [n, d]")
        let n = x0.shape[0], d = x0.shape[1]
        precondition(t.count == n, "t needs one time per row")
        if let eps { precondition(eps.shape == x0.shape, "eps must match x0") }
        let xt = Tensor(uninitialized: [n, d]), ut = Tensor(uninitialized: [n, d])
        let p0 = x0.storage.pointer, p1 = x1.storage.pointer, pe = eps?.storage.pointer
        let px = xt.storage.pointer, pu = ut.storage.pointer
        for i in 0..<n {
            let s = scheduler(Double(t[i]))
            let (g, dg) = noise(Double(t[i]))
            let a = Float(s.alpha), b = Float(s.sigma), da = Float(s.dAlpha), db = Float(s.dSigma)
            let gf = Float(g), dgf = Float(dg)
            let base = i &* d
            for j in 0..<d {
                let k = base &+ j
                let e: Float = pe.map { $0[k] } ?? 0
                px[k] = a * p1[k] + b * p0[k] + gf * e
                pu[k] = da * p1[k] + db * p0[k] + dgf * e
            }
        }
        return withExtendedLifetime((x0, x1, eps)) { (xt, ut) }
    }
}

extension SchedulerOutput {
    /// Coefficients (a, b) with x̂1 = a·x_t + b·u: the data prediction from a velocity u at x_t
    /// (solving x_t = α x1 + σ x0, u = α̇ x1 + σ̇ x0 for x1). Undefined where σ̇α − σα̇ = 0.
    public var velocityToData: (xt: Double, velocity: Double) {
        let det = dSigma * alpha - sigma * dAlpha
        return (dSigma / det, -sigma / det)
    }

    /// Coefficients with x̂0 (ε-prediction for a Gaussian source) = a·x_t + b·u.
    public var velocityToNoise: (xt: Double, velocity: Double) {
        let det = dAlpha * sigma - alpha * dSigma
        return (dAlpha / det, -alpha / det)
    }

    /// Coefficients with u = a·x_t + b·x̂1 (velocity from a data prediction; needs σ ≠ 0).
    public var dataToVelocity: (xt: Double, data: Double) {
        (dSigma / sigma, dAlpha - alpha * dSigma / sigma)
    }

    /// Coefficients with u = a·x_t + b·x̂0 (velocity from an ε-prediction; needs α ≠ 0).
    public var noiseToVelocity: (xt: Double, noise: Double) {
        (dAlpha / alpha, dSigma - sigma * dAlpha / alpha)
    }
}
