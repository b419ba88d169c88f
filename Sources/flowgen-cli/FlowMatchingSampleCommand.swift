#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlowGen

/// Options shared by `fm sample` and `fm loglik`: checkpoint, solver and class label.
struct FlowMatchingSolveOptions: ParsableArguments {
    @Option(help: "Checkpoint written by `flowgen fm train --save` (or fg_fm_save).") var model: String
    @Option(help: "euler, midpoint, heun, rk4 or dopri5.") var solver: String?
    @Option(name: .customLong("solver-steps"), help: "Steps of fixed-step solvers.") var solverSteps: Int = 100
    @Option(help: "dopri5 tolerance (rtol = atol); overridden by --rtol / --atol.") var tol: Double = 1e-5
    @Option(help: "dopri5 relative tolerance.") var rtol: Double?
    @Option(help: "dopri5 absolute tolerance.") var atol: Double?
    @Option(help: "Class label for every row (class-conditional models; -1 = no label).") var label: Int?

    func load() throws -> FlowMatcher {
        do { return try FlowMatcher.load(from: model) } catch { throw ValidationError("cannot load \(model): \(error)") }
    }

    func method(default fallback: ODEMethod) throws -> (ODEMethod, ODEOptions) {
        let name = solver ?? fallback.rawValue
        guard let m = ODEMethod(rawValue: name) else { throw ValidationError("unknown --solver \(name)") }
        guard solverSteps >= 1, solverSteps <= 1_000_000 else { throw ValidationError("--solver-steps must be in 1…1000000") }
        var o = ODEOptions()
        o.steps = solverSteps
        o.rtol = rtol ?? tol
        o.atol = atol ?? tol
        guard o.rtol.isFinite, o.atol.isFinite, o.rtol >= 0, o.atol >= 0, o.rtol + o.atol > 0 else {
            throw ValidationError("tolerances must be finite, ≥ 0 and not both 0")
        }
        return (m, o)
    }

    func labels(_ n: Int, _ matcher: FlowMatcher) throws -> [Int32]? {
        guard let label else { return nil }
        let classes = matcher.configuration.numClasses
        guard classes > 0 else { throw ValidationError("--label needs a class-conditional model (this one has no classes)") }
        guard label >= -1, label < classes else { throw ValidationError("--label must be in -1…\(classes - 1)") }
        return [Int32](repeating: Int32(label), count: n)
    }
}

/// `flowgen fm sample`: samples of a saved flow written to a .npy file.
struct FlowMatchingSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw samples from a saved flow (x0 ~ N(0, I) from --seed, integrated t = 0 → 1) into a .npy file.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var solve: FlowMatchingSolveOptions
    @Option(help: "Number of samples.") var n: Int = 1000
    @Option(help: "Seed of the source points.") var seed: UInt64 = 0
    @Option(help: "Output .npy file ([n, dim] float32).") var out: String
    @Option(help: "Classifier-free guidance weight (needs --label).") var guidance: Float?
    @Option(name: .customLong("guidance-convention"), help: "interpolate: v_u + w (v_c − v_u); scaled: (1 + w) v_c − w v_u.")
    var guidanceConvention: String = "interpolate"
    @Option(help: "Time grid of fixed-step solvers: uniform (--solver-steps equal steps) or bellman (BOSS's step schedule with --solver-steps steps, by dynamic programming against a --schedule-fine-steps Euler reference).")
    var schedule: String = "uniform"
    @Option(name: .customLong("schedule-fine-steps"), help: "bellman: steps of the Euler reference.") var scheduleFineSteps: Int = 100
    @Option(name: .customLong("schedule-calibration"), help: "bellman: source points the schedule is fitted on (seed --seed + 1).")
    var scheduleCalibration: Int = 256

    func run() throws {
        guard n >= 1, n <= 10_000_000 else { throw ValidationError("--n must be in 1…10000000") }
        let matcher = try solve.load()
        var (method, options) = try solve.method(default: .euler)
        var grid: StepSchedule? = nil
        switch schedule {
        case "uniform": break
        case "bellman":
            guard method != .dopri5 else { throw ValidationError("--schedule bellman needs a fixed-step --solver") }
            guard (1...1000).contains(scheduleFineSteps), (1...scheduleFineSteps).contains(options.steps) else {
                throw ValidationError("--schedule bellman needs 1 ≤ --solver-steps ≤ --schedule-fine-steps ≤ 1000")
            }
            guard scheduleCalibration >= 1, scheduleCalibration * matcher.dim <= 1 << 14 else {
                throw ValidationError("--schedule-calibration must be in 1…\((1 << 14) / matcher.dim)")
            }
            let s = try matcher.bellmanSchedule(steps: options.steps, fineSteps: scheduleFineSteps,
                                                calibration: scheduleCalibration, seed: seed &+ 1)
            options.timeGrid = s.times
            grid = s
        default: throw ValidationError("--schedule must be uniform or bellman")
        }
        let labels = try solve.labels(n, matcher)
        var guide: (weight: Float, convention: GuidanceConvention)? = nil
        if let guidance {
            guard labels != nil else { throw ValidationError("--guidance needs --label") }
            guard guidance.isFinite, abs(guidance) <= 1000 else { throw ValidationError("--guidance must be finite, |w| ≤ 1000") }
            guard let convention = GuidanceConvention(name: guidanceConvention) else {
                throw ValidationError("unknown --guidance-convention \(guidanceConvention); use interpolate or scaled")
            }
            guide = (guidance, convention)
        }
        let t0 = now()
        let solution = try matcher.sample(n, seed: seed, labels: labels, guidance: guide, method: method, options: options)
        let seconds = now() - t0
        try writeNpy(solution.state, to: out)
        print("\(n) samples of dim \(matcher.dim) → \(out) (\(method.rawValue), NFE \(solution.nfe), \(format3("", seconds)) s)")
        if let grid { print("Bellman time grid: \(grid.times.map { format3("", $0) }.joined(separator: ", "))") }
        if common.json {
            var fields: [(String, JSONValue)] = [
                ("n", .number(Double(n))), ("dim", .number(Double(matcher.dim))), ("solver", .string(method.rawValue)),
                ("nfe", .number(Double(solution.nfe))), ("sample_seconds", .number(seconds)), ("out", .string(out)),
                ("schedule", .string(schedule)),
            ]
            if let grid { fields.append(("times", .array(grid.times.map { .number($0) }))) }
            print(JSONValue.object(fields).serialized())
        }
    }
}

/// `flowgen fm loglik`: per-point log-likelihoods of a .npy file under a saved flow.
struct FlowMatchingLogLikelihood: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loglik",
        abstract: "Per-point log p(x) and the mean NLL of a .npy file under a saved flow (change of variables, t = 1 → 0).")
    @OptionGroup var common: CommonOptions
    @OptionGroup var solve: FlowMatchingSolveOptions
    @Option(help: "Input .npy file ([n, dim], float32 or float64).") var data: String
    @Option(help: "exact (dim ≤ 64) or hutchinson.") var divergence: String = "exact"
    @Option(help: "Rademacher probes for hutchinson.") var probes: Int = 8
    @Option(help: "Seed of the Hutchinson probes.") var seed: UInt64 = 0
    @Option(help: "Write the per-point log p to this .npy file ([n] float32) instead of printing them.") var out: String?

    func run() throws {
        let matcher = try solve.load()
        guard matcher.sourceIsStandardNormal else {
            throw ValidationError("this model was trained from source samples; its density is undefined")
        }
        let x = try readNpy(data)
        guard x.rank == 2, x.shape[0] >= 1, x.shape[1] == matcher.dim else {
            throw ValidationError("\(data) must hold a [n, \(matcher.dim)] array, got \(x.shape)")
        }
        guard x.isFinite else { throw ValidationError("\(data) contains NaN or infinite values") }
        let estimator: DivergenceEstimator
        switch divergence {
        case "exact":
            guard matcher.dim <= 64 else { throw ValidationError("the exact divergence needs dim ≤ 64; use --divergence hutchinson") }
            estimator = .exact
        case "hutchinson":
            guard probes >= 1, probes <= 1024 else { throw ValidationError("--probes must be in 1…1024") }
            estimator = .hutchinson(probes: probes)
        default: throw ValidationError("unknown --divergence \(divergence); use exact or hutchinson")
        }
        let (method, options) = try solve.method(default: .dopri5)
        let labels = try solve.labels(x.shape[0], matcher)
        let t0 = now()
        let (logp, nfe) = try FlowMatching.logLikelihood(model: matcher.model, x: x, estimator: estimator, method: method,
                                                          options: options, seed: seed, labels: labels)
        let seconds = now() - t0
        let nll = -logp.reduce(0.0) { $0 + Double($1) } / Double(logp.count)
        if let out {
            try writeNpy(Tensor(shape: [logp.count], scalars: logp), to: out)
        } else {
            for v in logp { print(v) }
        }
        print("mean NLL \(format3("", nll)) nats over \(logp.count) points (\(divergence), \(method.rawValue), NFE \(nfe), \(format3("", seconds)) s)")
        if common.json {
            var fields: [(String, JSONValue)] = [
                ("n", .number(Double(logp.count))), ("nll", .number(nll)), ("nfe", .number(Double(nfe))),
                ("divergence", .string(divergence)), ("solver", .string(method.rawValue)), ("seconds", .number(seconds)),
            ]
            if let out { fields.append(("out", .string(out))) }
            print(JSONValue.object(fields).serialized())
        }
    }
}
