import CFlowGenABI
import FlowGen

// The fg_fm_* entry points (include/flowgen.h, "Continuous flow matching"). Every argument is validated
// here before the core runs; a failure leaves the handle exactly as it was (training that was cancelled
// keeps the steps already taken, as documented).

/// Layouts of fg_fm_params / fg_fm_solver_params this library accepts: fg_fm_params layout 1 ended
/// at grad_clip_norm (struct padded to 8 bytes); layout 2 added num_classes … beta_max at the end.
let fmParamsLayout1Fields = MemoryLayout<fg_fm_params>.offset(of: \fg_fm_params.num_classes)!
let fmParamsLayout1Size = (fmParamsLayout1Fields + 7) / 8 * 8
let knownFMParamsSizes = [fmParamsLayout1Size, MemoryLayout<fg_fm_params>.size]
/// fg_fm_solver_params before `time_grid` was appended.
let olderFMSolverParams = [olderLayout(before: \fg_fm_solver_params.time_grid)]

/// FG_FM_SOLVER_* codes in order.
let odeMethodByCode: [ODEMethod] = [.euler, .midpoint, .heun, .rk4, .dopri5]

/// Largest batch × hidden-width product a single solve may allocate per layer (2^31 floats).
let maxActivationElements = 1 << 31

@_cdecl("fg_fm_default_params")
public func fg_fm_default_params() -> fg_fm_params {
    var p = fg_fm_params()
    p.struct_size = UInt32(MemoryLayout<fg_fm_params>.size)
    p.dim = 2
    p.method = UInt32(FG_FM_METHOD_OTCFM)
    p.activation = UInt32(FG_ACT_SELU)
    p.hidden_width = 64
    p.hidden_layers = 3
    p.batch_size = 256
    p.sigma = 0.1
    p.seed = 0
    p.learning_rate = 1e-3
    p.weight_decay = 1e-5
    p.grad_clip_norm = 0
    p.num_classes = 0
    p.label_dropout = 0.1
    p.beta_min = 0.1
    p.beta_max = 20
    return p
}

@_cdecl("fg_fm_default_solver_params")
public func fg_fm_default_solver_params() -> fg_fm_solver_params {
    var p = fg_fm_solver_params()
    p.struct_size = UInt32(MemoryLayout<fg_fm_solver_params>.size)
    p.solver = UInt32(FG_FM_SOLVER_EULER)
    p.steps = 100
    p.max_num_steps = 10_000
    p.rtol = 1e-5
    p.atol = 1e-5
    p.first_step = 0
    p.min_step = 0
    p.time_grid = nil
    p.time_grid_len = 0
    return p
}

/// C params → configuration, every field checked.
func fmConfiguration(_ params: UnsafePointer<fg_fm_params>?) throws -> FlowMatcher.Configuration {
    var p = fg_fm_default_params()
    if let params {
        // Read only the caller's layout (an older, smaller struct keeps the new fields' defaults).
        let declared = UnsafeRawPointer(params).load(as: UInt32.self)
        try checkStructSize(declared, known: knownFMParamsSizes, name: "params")
        // Layout 1: only its fields (its tail padding overlaps num_classes and holds garbage).
        let count = Int(declared) == fmParamsLayout1Size ? fmParamsLayout1Fields : Int(declared)
        withUnsafeMutableBytes(of: &p) { $0.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(params), count: count)) }
    }
    var c = FlowMatcher.Configuration(dim: Int(p.dim))
    guard let method = FlowMatcher.Method(rawValue: p.method) else {
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.method = \(p.method) is not an FG_FM_METHOD_* value")
    }
    c.method = method
    guard Int(p.activation) < activationByCode.count else {
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.activation = \(p.activation) is not an FG_ACT_* value")
    }
    c.activation = activationByCode[Int(p.activation)]
    c.hiddenWidth = Int(p.hidden_width)
    c.hiddenLayers = Int(p.hidden_layers)
    c.batchSize = Int(p.batch_size)
    c.sigma = p.sigma
    c.seed = p.seed
    c.learningRate = p.learning_rate
    c.weightDecay = p.weight_decay
    c.gradientClipNorm = p.grad_clip_norm
    c.numClasses = Int(p.num_classes)
    c.labelDropout = p.label_dropout
    c.betaMin = p.beta_min
    c.betaMax = p.beta_max
    if let problem = c.problem { throw CAPIError.invalid("params: \(problem)") }
    var count = (c.dim + 1 + c.numClasses) * c.hiddenWidth + c.hiddenWidth * c.dim
    count += (c.hiddenLayers - 1) * c.hiddenWidth * c.hiddenWidth
    guard count <= 1 << 28 else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "the velocity network would have \(count) weights (limit 2^28)")
    }
    return c
}

/// C solver params → (method, options), every field checked.
func fmSolver(_ params: UnsafePointer<fg_fm_solver_params>?) throws -> (ODEMethod, ODEOptions) {
    let p = try readVersionedParams(params, defaults: fg_fm_default_solver_params(), older: olderFMSolverParams)
    guard Int(p.solver) < odeMethodByCode.count else {
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "solver.solver = \(p.solver) is not an FG_FM_SOLVER_* value")
    }
    var o = ODEOptions()
    guard p.steps >= 1 && p.steps <= 1_000_000 else { throw CAPIError.invalid("solver.steps must be in 1…1000000, got \(p.steps)") }
    guard p.max_num_steps >= 1 else { throw CAPIError.invalid("solver.max_num_steps must be ≥ 1") }
    guard p.rtol.isFinite, p.rtol >= 0, p.atol.isFinite, p.atol >= 0, p.rtol + p.atol > 0 else {
        throw CAPIError.invalid("solver.rtol and solver.atol must be finite, ≥ 0 and not both 0 (got \(p.rtol), \(p.atol))")
    }
    guard p.first_step.isFinite, p.first_step >= 0 else { throw CAPIError.invalid("solver.first_step must be finite and ≥ 0 (0 = automatic), got \(p.first_step)") }
    guard p.min_step.isFinite, p.min_step >= 0 else { throw CAPIError.invalid("solver.min_step must be finite and ≥ 0, got \(p.min_step)") }
    o.steps = Int(p.steps)
    o.maxNumSteps = Int(p.max_num_steps)
    o.rtol = Double(p.rtol)
    o.atol = Double(p.atol)
    o.firstStep = p.first_step > 0 ? Double(p.first_step) : nil
    o.minStep = Double(p.min_step)
    let method = odeMethodByCode[Int(p.solver)]
    if let grid = p.time_grid {
        guard method != .dopri5 else { throw CAPIError.invalid("solver.time_grid needs a fixed-step solver, not dopri5") }
        guard p.time_grid_len >= 2, p.time_grid_len <= 1_000_001 else {
            throw CAPIError.invalid("solver.time_grid_len must be in 2…1000001, got \(p.time_grid_len)")
        }
        let times = Array(UnsafeBufferPointer(start: grid, count: Int(p.time_grid_len)))
        guard times.allSatisfy(\.isFinite), zip(times, times.dropFirst()).allSatisfy({ $0 < $1 }),
              times.first == 0, times.last == 1 else {
            throw CAPIError.invalid("solver.time_grid must hold finite, strictly increasing times from 0 to 1")
        }
        o.timeGrid = times
    } else if p.time_grid_len != 0 {
        throw CAPIError.null("solver.time_grid (time_grid_len = \(p.time_grid_len))")
    }
    return (method, o)
}

func fmHandle(_ fm: OpaquePointer?) throws -> FlowMatcher {
    guard let fm else { throw CAPIError.null("fm") }
    return Unmanaged<FlowMatcher>.fromOpaque(UnsafeRawPointer(fm)).takeUnretainedValue()
}

func boxFM(_ matcher: FlowMatcher) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(matcher).toOpaque())
}

/// Runs core work, turning ODE errors into statuses (training errors are mapped by capiCall).
func fmTranslate<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as ODEError {
        switch e {
        case .invalidArgument(let m): throw CAPIError.invalid(m)
        default: throw CAPIError(status: FG_ERR_NUMERICAL, message: "ODE solve failed: \(e)")
        }
    }
}

/// Checks a [rows, dim] input against the model and copies it.
func fmMatrix(_ pointer: UnsafePointer<Float>?, rows: Int, dim: Int, model: FlowMatcher,
              rowsName: String, name: String) throws -> Tensor {
    guard let pointer else { throw CAPIError.null(name) }
    _ = try checkedMatrixCount(rows: rows, cols: dim, rowsName: rowsName, colsName: "dim")
    guard dim == model.dim else { throw CAPIError.shape("dim = \(dim) but the model's dimension is \(model.dim)") }
    try fmCheckActivations(rows: rows, model: model)
    return try copyFiniteTensor(pointer, shape: [rows, dim], name: name)
}

func fmCheckActivations(rows: Int, model: FlowMatcher) throws {
    let width = Swift.max(model.configuration.hiddenWidth, model.dim + 1)
    let (n, overflow) = rows.multipliedReportingOverflow(by: width)
    guard !overflow, n <= maxActivationElements else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "\(rows) rows would need \(rows) × \(width) activations per layer (limit 2^31); split the batch")
    }
}

/// Size query / short buffer handling before any work: returns true when the caller only asked for
/// the length.
func fmOutputPrecheck(needed: Int, dst: UnsafeMutablePointer<Float>?, dstLength: Int,
                      outLength: UnsafeMutablePointer<Int>?) throws -> Bool {
    if dst == nil || dstLength < needed {
        outLength?.pointee = needed
        if dst == nil {
            guard outLength != nil else { throw CAPIError.null("dst and out_len (one is needed)") }
            return true
        }
        throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "dst holds \(dstLength < 0 ? "?" : String(dstLength)) floats, \(needed) are needed")
    }
    return false
}

func progressClosure(_ progress: fg_progress_fn?, _ userData: UnsafeMutableRawPointer?) -> ((Int, Int, Float) -> Bool)? {
    guard let progress else { return nil }
    return { step, total, loss in progress(UInt64(step), UInt64(total), loss, userData) == 0 }
}

@_cdecl("fg_fm_create")
public func fg_fm_create(_ params: UnsafePointer<fg_fm_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return capiCall("fg_fm_create") {
        guard let out else { throw CAPIError.null("out") }
        out.pointee = boxFM(FlowMatcher(try fmConfiguration(params)))
    }
}

@_cdecl("fg_fm_free")
public func fg_fm_free(_ fm: OpaquePointer?) {
    guard let fm else { return }
    Unmanaged<FlowMatcher>.fromOpaque(UnsafeRawPointer(fm)).release()
}

@_cdecl("fg_fm_fit")
public func fg_fm_fit(_ fm: OpaquePointer?, _ data: UnsafePointer<Float>?, _ nRows: Int, _ dim: Int, _ steps: UInt32,
                      _ progress: fg_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                      _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_fm_fit") {
        let model = try fmHandle(fm)
        let target = try fmMatrix(data, rows: nRows, dim: dim, model: model, rowsName: "n_rows", name: "data")
        guard steps > 0 else { throw CAPIError.invalid("steps must be positive") }
        guard model.configuration.numClasses == 0 else {
            throw CAPIError.invalid("this model is class-conditional (num_classes = \(model.configuration.numClasses)); use fg_fm_fit_labeled")
        }
        let loss = try fmTranslate { try model.fit(target: target, steps: Int(steps), progress: progressClosure(progress, userData)) }
        outLoss?.pointee = loss
    }
}

@_cdecl("fg_fm_fit_labeled")
public func fg_fm_fit_labeled(_ fm: OpaquePointer?, _ data: UnsafePointer<Float>?, _ labels: UnsafePointer<Int32>?,
                              _ nRows: Int, _ dim: Int, _ steps: UInt32, _ progress: fg_progress_fn?,
                              _ userData: UnsafeMutableRawPointer?, _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_fm_fit_labeled") {
        let model = try fmHandle(fm)
        guard let labels else { throw CAPIError.null("labels") }
        let classes = model.configuration.numClasses
        guard classes > 0 else { throw CAPIError.invalid("this model is unconditional (num_classes = 0); use fg_fm_fit") }
        let target = try fmMatrix(data, rows: nRows, dim: dim, model: model, rowsName: "n_rows", name: "data")
        guard steps > 0 else { throw CAPIError.invalid("steps must be positive") }
        let copied = Array(UnsafeBufferPointer(start: labels, count: nRows))
        if let bad = copied.firstIndex(where: { $0 < 0 || Int($0) >= classes }) {
            throw CAPIError.invalid("labels[\(bad)] = \(copied[bad]) is outside 0 ... \(classes - 1)")
        }
        let loss = try fmTranslate {
            try model.fit(target: target, labels: copied, steps: Int(steps), progress: progressClosure(progress, userData))
        }
        outLoss?.pointee = loss
    }
}

@_cdecl("fg_fm_fit_npy")
public func fg_fm_fit_npy(_ fm: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ steps: UInt32, _ progress: fg_progress_fn?,
                          _ userData: UnsafeMutableRawPointer?, _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_fm_fit_npy") {
        let model = try fmHandle(fm)
        let file = try pathArgument(path)
        guard steps > 0 else { throw CAPIError.invalid("steps must be positive") }
        guard model.configuration.numClasses == 0 else {
            throw CAPIError.invalid("this model is class-conditional; fit it with fg_fm_fit_labeled")
        }
        let target = try readNpy(file)
        guard target.rank == 2, target.shape[0] > 0 else {
            throw CAPIError(status: FG_ERR_CORRUPT_FILE, message: "\(file) holds shape \(target.shape); a [n_rows, dim] array with n_rows > 0 is needed")
        }
        guard target.shape[1] == model.dim else {
            throw CAPIError.shape("\(file) has dim \(target.shape[1]) but the model's dimension is \(model.dim)")
        }
        guard target.isFinite else { throw CAPIError(status: FG_ERR_NON_FINITE, message: "\(file) contains NaN or infinite values") }
        try fmCheckActivations(rows: Swift.min(target.shape[0], model.configuration.batchSize), model: model)
        let loss = try fmTranslate { try model.fit(target: target, steps: Int(steps), progress: progressClosure(progress, userData)) }
        outLoss?.pointee = loss
    }
}

@_cdecl("fg_fm_fit_sampler")
public func fg_fm_fit_sampler(_ fm: OpaquePointer?, _ sampler: fg_fm_sampler_fn?, _ samplerData: UnsafeMutableRawPointer?,
                              _ steps: UInt32, _ progress: fg_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                              _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_fm_fit_sampler") {
        let model = try fmHandle(fm)
        guard let sampler else { throw CAPIError.null("sampler") }
        guard steps > 0 else { throw CAPIError.invalid("steps must be positive") }
        guard model.configuration.numClasses == 0 else {
            throw CAPIError.invalid("this model is class-conditional; fit it with fg_fm_fit_labeled")
        }
        let dim = model.dim
        try fmCheckActivations(rows: model.configuration.batchSize, model: model)
        var failure: CAPIError? = nil
        let messageLength = 512
        do {
            let loss = try fmTranslate {
                try model.fit(steps: Int(steps), sampler: { rows in
                    let batch = Tensor(zeros: [rows, dim])
                    var message = [CChar](repeating: 0, count: messageLength)
                    let code = message.withUnsafeMutableBufferPointer { m in
                        sampler(batch.storage.pointer, rows, dim, samplerData, m.baseAddress, messageLength - 1)
                    }
                    if code != 0 {
                        let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                        failure = CAPIError(status: FG_ERR_CALLBACK,
                                            message: "the sampler returned \(code)" + (reason.isEmpty ? "" : ": \(reason)") + " (training undone)")
                        throw FlowMatcher.SamplerError(reason)
                    }
                    if !batch.isFinite {
                        failure = CAPIError(status: FG_ERR_NON_FINITE, message: "the sampler wrote NaN or infinite values (training undone)")
                        throw FlowMatcher.SamplerError("non-finite batch")
                    }
                    return batch
                }, progress: progressClosure(progress, userData))
            }
            outLoss?.pointee = loss
        } catch is FlowMatcher.SamplerError {
            throw failure ?? CAPIError(status: FG_ERR_CALLBACK, message: "the sampler failed (training undone)")
        }
    }
}

@_cdecl("fg_fm_fit_pairs")
public func fg_fm_fit_pairs(_ fm: OpaquePointer?, _ source: UnsafePointer<Float>?, _ nSource: Int,
                            _ target: UnsafePointer<Float>?, _ nTarget: Int, _ dim: Int, _ steps: UInt32,
                            _ progress: fg_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                            _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_fm_fit_pairs") {
        let model = try fmHandle(fm)
        guard model.configuration.numClasses == 0 else {
            throw CAPIError.invalid("this model is class-conditional; fit it with fg_fm_fit_labeled")
        }
        let src = try fmMatrix(source, rows: nSource, dim: dim, model: model, rowsName: "n_source", name: "source")
        let tgt = try fmMatrix(target, rows: nTarget, dim: dim, model: model, rowsName: "n_target", name: "target")
        guard steps > 0 else { throw CAPIError.invalid("steps must be positive") }
        let loss = try fmTranslate {
            try model.fit(target: tgt, source: src, steps: Int(steps), progress: progressClosure(progress, userData))
        }
        outLoss?.pointee = loss
    }
}

@_cdecl("fg_fm_step_schedule")
public func fg_fm_step_schedule(_ fm: OpaquePointer?, _ steps: UInt32, _ fineSteps: UInt32, _ calibration: Int, _ seed: UInt64,
                                _ times: UnsafeMutablePointer<Double>?, _ timesLength: Int,
                                _ outCost: UnsafeMutablePointer<Double>?, _ outUniformCost: UnsafeMutablePointer<Double>?) -> fg_status {
    capiCall("fg_fm_step_schedule") {
        let model = try fmHandle(fm)
        guard let times else { throw CAPIError.null("times") }
        guard steps >= 1, steps <= fineSteps, fineSteps <= 1000 else {
            throw CAPIError.invalid("need 1 ≤ steps ≤ fine_steps ≤ 1000, got steps = \(steps), fine_steps = \(fineSteps)")
        }
        // The reference trajectory keeps 2·fine_steps + 1 states of [n_calibration, dim]; bound it (and the
        // fine_steps² / 2 step costs over them).
        guard calibration >= 1, calibration <= (1 << 14) / model.dim else {
            throw CAPIError.invalid("n_calibration must be in 1…\((1 << 14) / model.dim) (n_calibration × dim ≤ 16384), got \(calibration)")
        }
        try fmCheckActivations(rows: calibration, model: model)
        guard timesLength >= Int(steps) + 1 else {
            throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "times holds \(timesLength < 0 ? "?" : String(timesLength)) entries, \(steps + 1) are needed")
        }
        let schedule = try fmTranslate {
            try model.bellmanSchedule(steps: Int(steps), fineSteps: Int(fineSteps), calibration: calibration, seed: seed)
        }
        for (i, t) in schedule.times.enumerated() { times[i] = t }
        outCost?.pointee = schedule.cost
        outUniformCost?.pointee = schedule.uniformCost ?? .nan
    }
}

@_cdecl("fg_fm_straighten")
public func fg_fm_straighten(_ fm: OpaquePointer?, _ times: UnsafePointer<Double>?, _ nTimes: Int, _ steps: UInt32,
                             _ trajectories: Int, _ fineSteps: UInt32, _ seed: UInt64, _ progress: fg_progress_fn?,
                             _ userData: UnsafeMutableRawPointer?, _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_fm_straighten") {
        let model = try fmHandle(fm)
        guard let times else { throw CAPIError.null("times") }
        guard nTimes >= 2, nTimes <= 1001 else { throw CAPIError.invalid("n_times must be in 2…1001, got \(nTimes)") }
        let grid = Array(UnsafeBufferPointer(start: times, count: nTimes))
        guard grid.allSatisfy(\.isFinite), zip(grid, grid.dropFirst()).allSatisfy({ $0 < $1 }), grid.first == 0, grid.last == 1 else {
            throw CAPIError.invalid("times must be finite, strictly increasing, from 0 to 1")
        }
        guard steps >= 1, fineSteps >= 1, fineSteps <= 1000 else {
            throw CAPIError.invalid("steps must be ≥ 1 and fine_steps in 1…1000, got \(steps) and \(fineSteps)")
        }
        // The reference keeps (fine_steps + n_times) states of [n_trajectories, dim].
        guard trajectories >= 1, trajectories <= (1 << 26) / (model.dim * (Int(fineSteps) + nTimes)) else {
            throw CAPIError.invalid("n_trajectories must be in 1…\((1 << 26) / (model.dim * (Int(fineSteps) + nTimes))) for this grid, got \(trajectories)")
        }
        guard model.configuration.numClasses == 0, model.sourceIsStandardNormal else {
            throw CAPIError.invalid("straightening needs an unconditional model trained from the N(0, I) source")
        }
        try fmCheckActivations(rows: trajectories, model: model)
        let loss = try fmTranslate {
            try model.straighten(times: grid, steps: Int(steps), trajectories: trajectories, fineSteps: Int(fineSteps), seed: seed,
                                 progress: progressClosure(progress, userData))
        }
        outLoss?.pointee = loss
    }
}

@_cdecl("fg_fm_sample")
public func fg_fm_sample(_ fm: OpaquePointer?, _ n: Int, _ seed: UInt64, _ solver: UnsafePointer<fg_fm_solver_params>?,
                         _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?,
                         _ outNFE: UnsafeMutablePointer<UInt32>?) -> fg_status {
    capiCall("fg_fm_sample") {
        let model = try fmHandle(fm)
        let needed = try checkedMatrixCount(rows: n, cols: model.dim, rowsName: "n", colsName: "dim")
        try fmCheckActivations(rows: n, model: model)
        let (method, options) = try fmSolver(solver)
        if try fmOutputPrecheck(needed: needed, dst: dst, dstLength: dstLength, outLength: outLength) { return }
        let solution = try fmTranslate { try model.sample(n, seed: seed, method: method, options: options) }
        try writeOutput(solution.state, dst: dst, dstLength: dstLength, outLength: outLength)
        outNFE?.pointee = UInt32(clamping: solution.nfe)
    }
}

/// A caller's cost-gradient callback failed (its status and message).
struct CostGradientFailure: Error { let message: String }

@_cdecl("fg_fm_sample_cost_guided")
public func fg_fm_sample_cost_guided(_ fm: OpaquePointer?, _ n: Int, _ seed: UInt64, _ scale: Float,
                                     _ gradient: fg_fm_cost_gradient_fn?, _ userData: UnsafeMutableRawPointer?,
                                     _ solver: UnsafePointer<fg_fm_solver_params>?, _ dst: UnsafeMutablePointer<Float>?,
                                     _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?,
                                     _ outNFE: UnsafeMutablePointer<UInt32>?) -> fg_status {
    capiCall("fg_fm_sample_cost_guided") {
        let model = try fmHandle(fm)
        guard let gradient else { throw CAPIError.null("gradient") }
        guard scale.isFinite else { throw CAPIError.invalid("scale must be finite, got \(scale)") }
        guard model.configuration.numClasses == 0 else { throw CAPIError.invalid("cost guidance needs an unconditional model") }
        let needed = try checkedMatrixCount(rows: n, cols: model.dim, rowsName: "n", colsName: "dim")
        try fmCheckActivations(rows: n, model: model)
        let (method, options) = try fmSolver(solver)
        if try fmOutputPrecheck(needed: needed, dst: dst, dstLength: dstLength, outLength: outLength) { return }
        let messageLength = 512
        let solution: ODESolution
        do {
            solution = try fmTranslate {
                try model.sampleGuidedByCost(n, seed: seed, scale: scale, costGradient: { x1 in
                    let grad = Tensor(zeros: x1.shape)
                    var message = [CChar](repeating: 0, count: messageLength)
                    let code = message.withUnsafeMutableBufferPointer { m in
                        gradient(x1.storage.pointer, x1.shape[0], x1.shape[1], grad.storage.pointer, userData, m.baseAddress, messageLength - 1)
                    }
                    guard code == 0 else {
                        let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                        throw CostGradientFailure(message: "the cost gradient returned \(code)" + (reason.isEmpty ? "" : ": \(reason)"))
                    }
                    return grad
                }, method: method, options: options)
            }
        } catch let failure as CostGradientFailure {
            throw CAPIError(status: FG_ERR_CALLBACK, message: failure.message)
        }
        try writeOutput(solution.state, dst: dst, dstLength: dstLength, outLength: outLength)
        outNFE?.pointee = UInt32(clamping: solution.nfe)
    }
}

@_cdecl("fg_fm_sample_guided")
public func fg_fm_sample_guided(_ fm: OpaquePointer?, _ n: Int, _ labels: UnsafePointer<Int32>?, _ guidance: Float,
                                _ convention: UInt32, _ seed: UInt64, _ solver: UnsafePointer<fg_fm_solver_params>?,
                                _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?,
                                _ outNFE: UnsafeMutablePointer<UInt32>?) -> fg_status {
    capiCall("fg_fm_sample_guided") {
        let model = try fmHandle(fm)
        let classes = model.configuration.numClasses
        guard classes > 0 else { throw CAPIError.invalid("this model is unconditional (num_classes = 0); use fg_fm_sample") }
        let needed = try checkedMatrixCount(rows: n, cols: model.dim, rowsName: "n", colsName: "dim")
        guard let labels else { throw CAPIError.null("labels") }
        guard let conventionValue = GuidanceConvention(rawValue: convention) else {
            throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "convention = \(convention) is not an FG_FM_GUIDANCE_* value")
        }
        guard guidance.isFinite, abs(guidance) <= 1000 else { throw CAPIError.invalid("guidance must be finite with |guidance| <= 1000, got \(guidance)") }
        try fmCheckActivations(rows: 2 * n, model: model)
        let (method, options) = try fmSolver(solver)
        let copied = Array(UnsafeBufferPointer(start: labels, count: n))
        if let bad = copied.firstIndex(where: { $0 < -1 || Int($0) >= classes }) {
            throw CAPIError.invalid("labels[\(bad)] = \(copied[bad]) is outside -1 ... \(classes - 1)")
        }
        if try fmOutputPrecheck(needed: needed, dst: dst, dstLength: dstLength, outLength: outLength) { return }
        let solution = try fmTranslate {
            try model.sample(n, seed: seed, labels: copied, guidance: (guidance, conventionValue), method: method, options: options)
        }
        try writeOutput(solution.state, dst: dst, dstLength: dstLength, outLength: outLength)
        outNFE?.pointee = UInt32(clamping: solution.nfe)
    }
}

@_cdecl("fg_fm_num_classes")
public func fg_fm_num_classes(_ fm: OpaquePointer?) -> Int { (try? fmHandle(fm))?.configuration.numClasses ?? 0 }

@_cdecl("fg_fm_transport")
public func fg_fm_transport(_ fm: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nRows: Int, _ dim: Int, _ reverse: UInt32,
                            _ solver: UnsafePointer<fg_fm_solver_params>?,
                            _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?,
                            _ outNFE: UnsafeMutablePointer<UInt32>?) -> fg_status {
    capiCall("fg_fm_transport") {
        let model = try fmHandle(fm)
        guard x != nil else { throw CAPIError.null("x") }
        let needed = try checkedMatrixCount(rows: nRows, cols: dim, rowsName: "n_rows", colsName: "dim")
        guard dim == model.dim else { throw CAPIError.shape("dim = \(dim) but the model's dimension is \(model.dim)") }
        let (method, options) = try fmSolver(solver)
        if try fmOutputPrecheck(needed: needed, dst: dst, dstLength: dstLength, outLength: outLength) { return }
        let points = try fmMatrix(x, rows: nRows, dim: dim, model: model, rowsName: "n_rows", name: "x")
        let solution = try fmTranslate { try model.transport(points, reverse: reverse != 0, method: method, options: options) }
        try writeOutput(solution.state, dst: dst, dstLength: dstLength, outLength: outLength)
        outNFE?.pointee = UInt32(clamping: solution.nfe)
    }
}

@_cdecl("fg_fm_log_likelihood")
public func fg_fm_log_likelihood(_ fm: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nRows: Int, _ dim: Int,
                                 _ solver: UnsafePointer<fg_fm_solver_params>?, _ divergence: UInt32, _ nProbes: UInt32,
                                 _ seed: UInt64, _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                                 _ outLength: UnsafeMutablePointer<Int>?, _ outNFE: UnsafeMutablePointer<UInt32>?) -> fg_status {
    capiCall("fg_fm_log_likelihood") {
        let model = try fmHandle(fm)
        guard x != nil else { throw CAPIError.null("x") }
        _ = try checkedMatrixCount(rows: nRows, cols: dim, rowsName: "n_rows", colsName: "dim")
        guard dim == model.dim else { throw CAPIError.shape("dim = \(dim) but the model's dimension is \(model.dim)") }
        let estimator: DivergenceEstimator
        switch Int32(bitPattern: divergence) {
        case FG_FM_DIV_EXACT:
            guard dim <= 64 else { throw CAPIError.invalid("the exact divergence needs dim ≤ 64 (got \(dim)); use FG_FM_DIV_HUTCHINSON") }
            estimator = .exact
        case FG_FM_DIV_HUTCHINSON:
            guard nProbes >= 1 && nProbes <= 1024 else { throw CAPIError.invalid("n_probes must be in 1…1024, got \(nProbes)") }
            estimator = .hutchinson(probes: Int(nProbes))
        default:
            throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "divergence = \(divergence) is not an FG_FM_DIV_* value")
        }
        guard model.sourceIsStandardNormal else {
            throw CAPIError.invalid("this model was trained from empirical source samples (fg_fm_fit_pairs); its density is undefined")
        }
        let (method, options) = try fmSolver(solver)
        if try fmOutputPrecheck(needed: nRows, dst: dst, dstLength: dstLength, outLength: outLength) { return }
        let points = try fmMatrix(x, rows: nRows, dim: dim, model: model, rowsName: "n_rows", name: "x")
        let (logp, nfe) = try fmTranslate {
            try model.logLikelihood(points, estimator: estimator, method: method, options: options, seed: seed)
        }
        try writeOutput(Tensor(shape: [nRows], scalars: logp), dst: dst, dstLength: dstLength, outLength: outLength)
        outNFE?.pointee = UInt32(clamping: nfe)
    }
}

@_cdecl("fg_fm_w2")
public func fg_fm_w2(_ a: UnsafePointer<Float>?, _ nA: Int, _ b: UnsafePointer<Float>?, _ nB: Int, _ dim: Int,
                     _ out: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_fm_w2") {
        guard let a else { throw CAPIError.null("a") }
        guard let b else { throw CAPIError.null("b") }
        guard let out else { throw CAPIError.null("out") }
        _ = try checkedMatrixCount(rows: nA, cols: dim, rowsName: "n_a", colsName: "dim")
        _ = try checkedMatrixCount(rows: nB, cols: dim, rowsName: "n_b", colsName: "dim")
        guard nA == nB else { throw CAPIError.shape("n_a = \(nA) and n_b = \(nB) differ; the exact W2 here needs equal sizes") }
        guard nA <= 5000 else { throw CAPIError.invalid("n_a = \(nA) exceeds 5000 (the O(n^3) exact solver's limit here)") }
        let ta = try copyFiniteTensor(a, shape: [nA, dim], name: "a")
        let tb = try copyFiniteTensor(b, shape: [nB, dim], name: "b")
        let w = wasserstein2(ta, tb)
        guard w.isFinite, w <= Double(Float.greatestFiniteMagnitude) else {
            throw CAPIError(status: FG_ERR_NUMERICAL, message: "W2 overflows float (\(w))")
        }
        out.pointee = Float(w)
    }
}

@_cdecl("fg_fm_dim")
public func fg_fm_dim(_ fm: OpaquePointer?) -> Int { (try? fmHandle(fm))?.dim ?? 0 }

@_cdecl("fg_fm_step")
public func fg_fm_step(_ fm: OpaquePointer?) -> UInt64 { UInt64((try? fmHandle(fm))?.step ?? 0) }

@_cdecl("fg_fm_save")
public func fg_fm_save(_ fm: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> fg_status {
    capiCall("fg_fm_save") {
        let model = try fmHandle(fm)
        try model.save(to: try pathArgument(path))
    }
}

@_cdecl("fg_fm_load")
public func fg_fm_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return capiCall("fg_fm_load") {
        guard let out else { throw CAPIError.null("out") }
        let model = try FlowMatcher.load(from: try pathArgument(path))
        out.pointee = boxFM(model)
    }
}
