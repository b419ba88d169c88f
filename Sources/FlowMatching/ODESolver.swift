import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

/// Integration schemes. Fixed-step ones use `steps` equal steps (or `ODEOptions.timeGrid`); `dopri5` is adaptive.
public enum ODEMethod: String, CaseIterable, Sendable {
    /// x ← x + h f(t, x). 1 evaluation per step.
    case euler
    /// Explicit midpoint: x ← x + h f(t + h/2, x + h/2 f(t, x)). 2 per step.
    case midpoint
    /// Heun (explicit trapezoid, torchdiffeq `heun2`): x ← x + h/2 (k1 + f(t + h, x + h k1)). 2 per step.
    case heun
    /// Classical RK4 with the 3/8 rule (torchdiffeq `rk4`, `rk4_alt_step_func`). 4 per step.
    case rk4
    /// Dormand–Prince 5(4) with torchdiffeq's error norm, accept rule and step control. 6 per step
    /// (first-same-as-last), plus 2 for the automatic initial step.
    case dopri5
}

/// Solver options (names and defaults follow torchdiffeq where they exist).
public struct ODEOptions: Sendable {
    /// Fixed-step methods: number of equal steps over [t0, t1].
    public var steps: Int = 100
    /// dopri5 relative and absolute tolerance.
    public var rtol: Double = 1e-5
    public var atol: Double = 1e-5
    /// dopri5 initial step magnitude; nil = torchdiffeq's `_select_initial_step`.
    public var firstStep: Double? = nil
    /// dopri5: a step smaller than this in magnitude is an underflow error (0 = only exact underflow).
    public var minStep: Double = 0
    /// dopri5: limit on attempted (accepted + rejected) steps.
    public var maxNumSteps: Int = 10_000
    public var safety: Double = 0.9
    public var ifactor: Double = 10
    public var dfactor: Double = 0.2
    /// Fixed-step methods: step between these times instead of `steps` equal steps — an increasing grid whose
    /// first and last entries are the solve's endpoints (min and max of t0, t1); a solve from 1 to 0 walks it
    /// backwards. E.g. a `bellmanStepSchedule`. nil = equal steps.
    public var timeGrid: [Double]? = nil
    /// Keep the state after every accepted step in `ODESolution.trajectory`.
    public var recordTrajectory: Bool = false

    public init() {}
}

/// The end state and the cost of a solve.
public struct ODESolution {
    /// State at t1.
    public var state: Tensor
    /// Number of evaluations of the vector field (each over the whole batch).
    public var nfe: Int
    public var acceptedSteps: Int
    public var rejectedSteps: Int
    /// Times of `trajectory` (t0 first) when recorded.
    public var times: [Double]
    /// States at `times` when `recordTrajectory` is set.
    public var trajectory: [Tensor]
}

/// Why a solve failed; the state is not returned.
public enum ODEError: Error, CustomStringConvertible, Equatable {
    case invalidArgument(String)
    case nonFinite(t: Double)
    case stepUnderflow(t: Double, dt: Double)
    case tooManySteps(limit: Int, t: Double)

    public var description: String {
        switch self {
        case .invalidArgument(let m): return m
        case .nonFinite(let t): return "the ODE state became NaN or infinite at t = \(t)"
        case .stepUnderflow(let t, let dt): return "step size underflow at t = \(t) (dt = \(dt)); the problem may be stiff or the tolerances too tight"
        case .tooManySteps(let limit, let t): return "max_num_steps = \(limit) reached at t = \(t) before the end of the interval"
        }
    }
}

/// out = y + h·Σ c_i k_i over all elements (one pass, no temporaries).
@inline(__always)
func combine(_ y: Tensor, _ h: Double, _ terms: [(Double, Tensor)]) -> Tensor {
    let out = Tensor(uninitialized: y.shape)
    let n = y.count
    let py = y.storage.pointer, po = out.storage.pointer
    po.update(from: py, count: n)
    for (c, k) in terms where c != 0 {
        let s = Float(h * c), pk = k.storage.pointer
        for i in 0..<n { po[i] += s * pk[i] }
    }
    return withExtendedLifetime((y, terms)) { out }
}

@inline(__always)
func rmsNorm(_ p: UnsafeMutablePointer<Double>, _ n: Int) -> Double {
    var s = 0.0
    for i in 0..<n { s += p[i] * p[i] }
    return (s / Double(Swift.max(n, 1))).squareRoot()
}

/// Integrates dx/dt = f(x, t) from t0 to t1 (either direction) for a whole batch: `f` receives the
/// full state and returns a tensor of the same shape (one model call per stage).
///
/// Fixed-step methods take `options.steps` equal steps. `dopri5` follows torchdiffeq 0.2.5
/// (`rk_common.py`, `misc.py`): error ratio = RMS(err / (atol + rtol·max(|y0|, |y1|))) over all
/// elements, accept iff ratio ≤ 1, new h = h·min(ifactor, max(safety·ratio^(−1/5), dfactor)) (no
/// shrink after an accepted step; ×ifactor when the error is 0), initial step by `_select_initial_step`.
/// One difference: the last step is shortened to land on t1 exactly (torchdiffeq steps past it and
/// interpolates). Errors: non-finite state, step underflow, too many steps — nothing is returned.
public func odeSolve(_ f: (Tensor, Double) throws -> Tensor, x0: Tensor, from t0: Double, to t1: Double,
                     method: ODEMethod, options: ODEOptions = ODEOptions()) throws -> ODESolution {
    guard t0.isFinite, t1.isFinite else { throw ODEError.invalidArgument("t0 and t1 must be finite") }
    var nfe = 0
    func eval(_ x: Tensor, _ t: Double) throws -> Tensor {
        nfe += 1
        let v = try f(x, t)
        precondition(v.count == x.count, "vector field returned \(v.shape) for a state \(x.shape)")
        return v
    }
    var sol = ODESolution(state: x0, nfe: 0, acceptedSteps: 0, rejectedSteps: 0, times: [], trajectory: [])
    if options.recordTrajectory { sol.times.append(t0); sol.trajectory.append(x0) }
    if t0 == t1 { return sol }
    var y = x0
    if let grid = options.timeGrid {
        guard method != .dopri5 else { throw ODEError.invalidArgument("a time grid needs a fixed-step method, not dopri5") }
        guard grid.count >= 2, grid.allSatisfy(\.isFinite), zip(grid, grid.dropFirst()).allSatisfy({ $0 < $1 }),
              grid.first == Swift.min(t0, t1), grid.last == Swift.max(t0, t1) else {
            throw ODEError.invalidArgument("the time grid must be finite, strictly increasing, with at least 2 times, from \(Swift.min(t0, t1)) to \(Swift.max(t0, t1))")
        }
    }
    if method != .dopri5 {
        let grid = options.timeGrid.map { t0 <= t1 ? $0 : Array($0.reversed()) }
        let stepCount = grid.map { $0.count - 1 } ?? options.steps
        guard stepCount >= 1 else { throw ODEError.invalidArgument("steps must be ≥ 1, got \(options.steps)") }
        let uniform = (t1 - t0) / Double(stepCount)
        for s in 0..<stepCount {
            let t = grid?[s] ?? t0 + Double(s) * uniform
            let h = grid.map { $0[s + 1] - $0[s] } ?? uniform
            switch method {
            case .euler:
                y = combine(y, h, [(1, try eval(y, t))])
            case .midpoint:
                let k1 = try eval(y, t)
                let k2 = try eval(combine(y, h / 2, [(1, k1)]), t + h / 2)
                y = combine(y, h, [(1, k2)])
            case .heun:
                let k1 = try eval(y, t)
                let k2 = try eval(combine(y, h, [(1, k1)]), t + h)
                y = combine(y, h, [(0.5, k1), (0.5, k2)])
            case .rk4:
                let k1 = try eval(y, t)
                let k2 = try eval(combine(y, h, [(1.0 / 3, k1)]), t + h / 3)
                let k3 = try eval(combine(y, h, [(-1.0 / 3, k1), (1, k2)]), t + 2 * h / 3)
                let k4 = try eval(combine(y, h, [(1, k1), (-1, k2), (1, k3)]), t + h)
                y = combine(y, h, [(0.125, k1), (0.375, k2), (0.375, k3), (0.125, k4)])
            case .dopri5: break
            }
            guard y.isFinite else { throw ODEError.nonFinite(t: t + h) }
            sol.acceptedSteps += 1
            if options.recordTrajectory { sol.times.append(s == stepCount - 1 ? t1 : t + h); sol.trajectory.append(y) }
        }
        sol.state = y
        sol.nfe = nfe
        return sol
    }
    return try dopri5(eval, y0: x0, t0: t0, t1: t1, options: options, solution: &sol, nfe: { nfe })
}

// Dormand–Prince 5(4) tableau (Dormand & Prince 1980; torchdiffeq dopri5.py).
private let dpC: [Double] = [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1]
private let dpA: [[Double]] = [
    [],
    [1.0 / 5],
    [3.0 / 40, 9.0 / 40],
    [44.0 / 45, -56.0 / 15, 32.0 / 9],
    [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
    [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
    [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
]
private let dpB: [Double] = [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0]
private let dpBStar: [Double] = [5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40]

private func dopri5(_ eval: (Tensor, Double) throws -> Tensor, y0: Tensor, t0: Double, t1: Double,
                    options o: ODEOptions, solution sol: inout ODESolution, nfe: () -> Int) throws -> ODESolution {
    guard o.rtol >= 0, o.atol >= 0, o.rtol.isFinite, o.atol.isFinite, o.rtol + o.atol > 0 else {
        throw ODEError.invalidArgument("rtol and atol must be finite, ≥ 0 and not both 0 (got \(o.rtol), \(o.atol))")
    }
    guard o.maxNumSteps >= 1 else { throw ODEError.invalidArgument("max_num_steps must be ≥ 1") }
    let direction: Double = t1 > t0 ? 1 : -1
    let n = y0.count
    var scratch = [Double](repeating: 0, count: n)
    var y = y0
    var t = t0
    var k1 = try eval(y, t)
    guard k1.isFinite else { throw ODEError.nonFinite(t: t) }
    // Step magnitude (positive).
    var h: Double
    if let first = o.firstStep {
        guard first > 0, first.isFinite else { throw ODEError.invalidArgument("first_step must be positive, got \(first)") }
        h = first
    } else {
        // torchdiffeq misc._select_initial_step with order = 4.
        let py = y.storage.pointer, pf = k1.storage.pointer
        var d0 = 0.0, d1 = 0.0
        scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<n { s[i] = Double(py[i]) / (o.atol + abs(Double(py[i])) * o.rtol) }
            d0 = rmsNorm(s.baseAddress!, n)
            for i in 0..<n { s[i] = Double(pf[i]) / (o.atol + abs(Double(py[i])) * o.rtol) }
            d1 = rmsNorm(s.baseAddress!, n)
        }
        let h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1
        let y1 = combine(y, direction * h0, [(1, k1)])
        let f1 = try eval(y1, t + direction * h0)
        let pf1 = f1.storage.pointer
        var d2 = 0.0
        scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<n { s[i] = (Double(pf1[i]) - Double(pf[i])) / (o.atol + abs(Double(py[i])) * o.rtol) }
            d2 = rmsNorm(s.baseAddress!, n) / h0
        }
        let h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? Swift.max(1e-6, h0 * 1e-3) : pow(0.01 / Swift.max(d1, d2), 1.0 / 5)
        h = Swift.min(100 * h0, h1)
        withExtendedLifetime((y, k1, f1)) {}
    }
    var attempts = 0
    while direction * (t1 - t) > 0 {
        if attempts >= o.maxNumSteps { throw ODEError.tooManySteps(limit: o.maxNumSteps, t: t) }
        attempts += 1
        let remaining = abs(t1 - t)
        let last = h >= remaining
        let hs = last ? remaining : h
        let dt = direction * hs
        guard t + dt != t, hs >= o.minStep, hs.isFinite, hs > 0 else { throw ODEError.stepUnderflow(t: t, dt: dt) }
        var k: [Tensor] = [k1]
        for s in 1..<7 {
            let terms = (0..<s).map { (dpA[s][$0], k[$0]) }
            let ys = combine(y, dt, terms)
            k.append(try eval(ys, t + dpC[s] * dt))
        }
        let yNew = combine(y, dt, (0..<7).map { (dpB[$0], k[$0]) })
        // Error estimate and ratio.
        let errCoef = (0..<7).map { dpB[$0] - dpBStar[$0] }
        var ratio = 0.0
        let py = y.storage.pointer, pn = yNew.storage.pointer
        let kp = k.map { $0.storage.pointer }
        scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<n {
                var e = 0.0
                for j in 0..<7 where errCoef[j] != 0 { e += errCoef[j] * Double(kp[j][i]) }
                e *= dt
                let scale = o.atol + o.rtol * Swift.max(abs(Double(py[i])), abs(Double(pn[i])))
                s[i] = e / scale
            }
            ratio = rmsNorm(s.baseAddress!, n)
        }
        withExtendedLifetime(k) {}
        guard ratio.isFinite, yNew.isFinite else {
            // torchdiffeq would shrink forever on NaN; a non-finite stage is reported instead.
            throw ODEError.nonFinite(t: t + dt)
        }
        let accept = ratio <= 1
        // _optimal_step_size(dt, ratio, safety, ifactor, dfactor, order = 5)
        var factor: Double
        if ratio == 0 { factor = o.ifactor } else {
            let dfac = ratio < 1 ? 1 : o.dfactor
            factor = Swift.min(o.ifactor, Swift.max(o.safety / pow(ratio, 1.0 / 5), dfac))
        }
        if accept {
            y = yNew
            t = last ? t1 : t + dt
            k1 = k[6]
            sol.acceptedSteps += 1
            if o.recordTrajectory { sol.times.append(t); sol.trajectory.append(y) }
        } else {
            sol.rejectedSteps += 1
        }
        h = hs * factor
    }
    sol.state = y
    sol.nfe = nfe()
    return sol
}
