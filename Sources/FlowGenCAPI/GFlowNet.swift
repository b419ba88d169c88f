import CFlowGenABI
import FlowGen

/// Layouts of fg_gfn_params / fg_gfn_metrics this library accepts (sizeof per header version).
let knownGFNParamsSizes = [MemoryLayout<fg_gfn_params>.size]
/// 72 = the first fg_gfn_metrics (without mode regions and log_corr).
let knownGFNMetricsSizes = [72, MemoryLayout<fg_gfn_metrics>.size]

@_cdecl("fg_gfn_default_params")
public func fg_gfn_default_params() -> fg_gfn_params {
    var p = fg_gfn_params()
    p.struct_size = UInt32(MemoryLayout<fg_gfn_params>.size)
    p.env = UInt32(FG_GFN_ENV_HYPERGRID)
    p.ndim = 2
    p.height = 8
    p.r0 = 0.1; p.r1 = 0.5; p.r2 = 2.0
    p.loss = UInt32(FG_GFN_LOSS_TB)
    p.lambda = 0.9
    p.batch_size = 16
    p.hidden_width = 256
    p.hidden_layers = 2
    p.learning_rate = 1e-3
    p.log_z_learning_rate = 0.1
    p.epsilon = 0
    p.temperature = 1
    p.uniform_pb = 0
    p.seed = 0
    return p
}

/// Runs a GFlowNet entry point, mapping GFlowNet errors to statuses (everything else as capiCall).
func gfnCall(_ function: StaticString, _ body: () throws -> Void) -> fg_status {
    capiCall(function) {
        do { try body() } catch let e as GFlowNetError {
            switch e {
            case .cancelled: throw CAPIError(status: FG_ERR_CANCELLED, message: e.description)
            case .numerical: throw CAPIError(status: FG_ERR_NUMERICAL, message: e.description)
            case .callback: throw CAPIError(status: FG_ERR_CALLBACK, message: e.description)
            case .invalidReward: throw CAPIError(status: FG_ERR_NON_FINITE, message: e.description)
            case .notEnumerable, .invalidConfiguration: throw CAPIError.invalid(e.description)
            }
        }
    }
}

/// Validates C params and builds the environment and configuration (`envParams`: the BITSEQ, ISING
/// and SET parameters, nil = defaults; see GFlowNet+Environments.swift).
func gfnSetup(_ params: UnsafePointer<fg_gfn_params>?,
              envParams: UnsafePointer<fg_gfn_env_params>? = nil) throws -> (DiscreteEnvironment, GFlowNetTrainer.Configuration) {
    let p = params?.pointee ?? fg_gfn_default_params()
    try checkStructSize(p.struct_size, known: knownGFNParamsSizes, name: "params")
    guard p.env <= UInt32(FG_GFN_ENV_SET) else {
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.env = \(p.env) is not an FG_GFN_ENV_* value")
    }
    guard let objective = GFlowNetObjective(rawValue: p.loss) else {
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.loss = \(p.loss) is not an FG_GFN_LOSS_* value")
    }
    if p.env != UInt32(FG_GFN_ENV_HYPERGRID) { return try gfnSetupZoo(p, envParams, objective: objective) }
    let ndim = Int(p.ndim), height = Int(p.height)
    guard height >= 2 && height <= 65536 else { throw CAPIError.invalid("params.height must be in 2…65536, got \(height)") }
    guard ndim >= 1, HyperGrid.stateCount(ndim: ndim, height: height) != nil, ndim * height <= 1 << 20 else {
        throw CAPIError.invalid("params.ndim = \(ndim) must be ≥ 1 with height^ndim ≤ 2^62 and ndim × height ≤ 2^20 (height \(height))")
    }
    for (name, r) in [("r0", p.r0), ("r1", p.r1), ("r2", p.r2)] where !r.isFinite {
        throw CAPIError(status: FG_ERR_NON_FINITE, message: "params.\(name) is \(r) (rewards must be finite)")
    }
    guard p.r0 > 0 else { throw CAPIError.invalid("params.r0 must be > 0 (every reward must be positive), got \(p.r0)") }
    guard p.r1 >= 0, p.r2 >= 0 else { throw CAPIError.invalid("params.r1 and params.r2 must be ≥ 0, got \(p.r1), \(p.r2)") }
    let grid = HyperGrid(ndim: ndim, height: height, r0: p.r0, r1: p.r1, r2: p.r2)
    return (grid, try gfnConfiguration(p, objective: objective, environment: grid))
}

/// The shared fields of `p` as a validated configuration for `env` (ranges, network size, memory,
/// objective–environment compatibility).
func gfnConfiguration(_ p: fg_gfn_params, objective: GFlowNetObjective,
                      environment env: DiscreteEnvironment) throws -> GFlowNetTrainer.Configuration {
    var c = GFlowNetTrainer.Configuration()
    c.objective = objective
    c.lambda = p.lambda
    c.batchSize = Int(p.batch_size)
    c.hiddenWidth = Int(p.hidden_width)
    c.hiddenLayers = Int(p.hidden_layers)
    c.learningRate = p.learning_rate
    c.logZLearningRate = p.log_z_learning_rate
    c.sampling = SamplingOptions(epsilon: p.epsilon, temperature: p.temperature)
    c.uniformBackward = p.uniform_pb != 0
    c.seed = p.seed
    if let problem = c.problem { throw CAPIError.invalid("params: \(problem)") }
    let inputs = env.encodingDimension, w = c.hiddenWidth
    let weights = inputs * w + w * w * (c.hiddenLayers - 1) + w * 2 * env.actionCount
    guard weights <= 1 << 28 else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "the policy network would have \(weights) weights (limit 2^28)")
    }
    if let problem = GFlowNetTrainer.resourceProblem(environment: env, configuration: c) {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: problem)
    }
    if let problem = GFlowNetTrainer.compatibilityProblem(environment: env, configuration: c) {
        throw CAPIError.invalid("params.loss: \(problem)")
    }
    return c
}

func gfnHandle(_ gfn: OpaquePointer?) throws -> GFlowNetTrainer {
    guard let gfn else { throw CAPIError.null("gfn") }
    return Unmanaged<GFlowNetTrainer>.fromOpaque(UnsafeRawPointer(gfn)).takeUnretainedValue()
}

func boxGFN(_ trainer: GFlowNetTrainer) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(trainer).toOpaque())
}

@_cdecl("fg_gfn_create")
public func fg_gfn_create(_ params: UnsafePointer<fg_gfn_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall("fg_gfn_create") {
        guard let out else { throw CAPIError.null("out") }
        let (env, config) = try gfnSetup(params)
        out.pointee = boxGFN(GFlowNetTrainer(environment: env, configuration: config))
    }
}

@_cdecl("fg_gfn_free")
public func fg_gfn_free(_ gfn: OpaquePointer?) {
    guard let gfn else { return }
    Unmanaged<GFlowNetTrainer>.fromOpaque(UnsafeRawPointer(gfn)).release()
}

@_cdecl("fg_gfn_train")
public func fg_gfn_train(_ gfn: OpaquePointer?, _ nTrajectories: UInt64, _ progress: fg_progress_fn?,
                         _ userData: UnsafeMutableRawPointer?, _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    gfnCall("fg_gfn_train") {
        let trainer = try gfnHandle(gfn)
        guard nTrajectories > 0, nTrajectories <= 1 << 40 else {
            throw CAPIError.invalid("n_trajectories must be in 1…2^40, got \(nTrajectories)")
        }
        var callback: ((Int, Int, Float) -> Bool)? = nil
        if let progress {
            callback = { step, total, loss in progress(UInt64(step), UInt64(total), loss, userData) == 0 }
        }
        let loss = try trainer.train(trajectories: Int(nTrajectories), progress: callback)
        outLoss?.pointee = loss
    }
}

@_cdecl("fg_gfn_sample")
public func fg_gfn_sample(_ gfn: OpaquePointer?, _ k: Int, _ seed: UInt64, _ dst: UnsafeMutablePointer<Int32>?,
                          _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    gfnCall("fg_gfn_sample") {
        let trainer = try gfnHandle(gfn)
        try writeSampledStates(k: k, stateDimension: trainer.environment.stateDimension, dst, dstLength, outLength) {
            try trainer.sample(k, seed: seed)
        }
    }
}

/// Shared body of the two distribution outputs.
func writeDistribution(_ function: StaticString, _ gfn: OpaquePointer?, _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                       _ outLength: UnsafeMutablePointer<Int>?, _ compute: (GFlowNetTrainer) throws -> [Double]) -> fg_status {
    gfnCall(function) {
        let trainer = try gfnHandle(gfn)
        try writeStateDistribution(stateCount: trainer.environment.enumeratedStateCount, dst, dstLength, outLength) {
            try compute(trainer)
        }
    }
}

/// Writes `k` sampled states `[k, stateDimension]` into `dst` (size query when `dst` is NULL); shared by
/// the plain and conditional samplers. `sample` runs only when k is in range and the buffer is large enough.
func writeSampledStates(k: Int, stateDimension: Int, _ dst: UnsafeMutablePointer<Int32>?, _ dstLength: Int,
                        _ outLength: UnsafeMutablePointer<Int>?, _ sample: () throws -> [Int32]) throws {
    guard k > 0, k <= 1 << 24 else { throw CAPIError.invalid("k must be in 1…2^24, got \(k < 0 ? "a value ≥ 2^63" : String(k))") }
    let needed = k * stateDimension
    guard needed <= 1 << 30 else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "k × state_dim = \(needed) values is too large (limit 2^30)")
    }
    outLength?.pointee = needed
    guard let dst else {
        guard outLength != nil else { throw CAPIError.null("dst_states and out_len (one is needed)") }
        return
    }
    guard dstLength >= needed else {
        throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "dst_states holds \(dstLength < 0 ? "?" : String(dstLength)) values, \(needed) are needed")
    }
    let states = try sample()
    guard states.count >= needed else {
        throw CAPIError(status: FG_ERR_INTERNAL, message: "sampler returned \(states.count) values, \(needed) expected")
    }
    for i in 0..<needed { dst[i] = states[i] }
}

/// Writes one probability per enumerated state into `dst` (size query when `dst` is NULL); shared by the
/// plain and conditional distribution outputs. `compute` runs only when the buffer is large enough.
func writeStateDistribution(stateCount: Int?, _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                            _ outLength: UnsafeMutablePointer<Int>?, _ compute: () throws -> [Double]) throws {
    guard let n = stateCount else {
        throw CAPIError.invalid("the environment has more than 2^24 states; exact distributions are unavailable")
    }
    outLength?.pointee = n
    guard let dst else {
        guard outLength != nil else { throw CAPIError.null("dst and out_len (one is needed)") }
        return
    }
    guard dstLength >= n else {
        throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "dst holds \(dstLength < 0 ? "?" : String(dstLength)) floats, \(n) are needed")
    }
    let values = try compute()
    guard values.count >= n else { throw CAPIError(status: FG_ERR_INTERNAL, message: "distribution has \(values.count) values, \(n) expected") }
    for i in 0..<n { dst[i] = Float(values[i]) }
}

@_cdecl("fg_gfn_exact_distribution")
public func fg_gfn_exact_distribution(_ gfn: OpaquePointer?, _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                                      _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    writeDistribution("fg_gfn_exact_distribution", gfn, dst, dstLength, outLength) { try $0.exactDistribution() }
}

@_cdecl("fg_gfn_target_distribution")
public func fg_gfn_target_distribution(_ gfn: OpaquePointer?, _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                                       _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    writeDistribution("fg_gfn_target_distribution", gfn, dst, dstLength, outLength) { try $0.target().probabilities }
}

@_cdecl("fg_gfn_evaluate")
public func fg_gfn_evaluate(_ gfn: OpaquePointer?, _ out: UnsafeMutablePointer<fg_gfn_metrics>?) -> fg_status {
    gfnCall("fg_gfn_evaluate") {
        let trainer = try gfnHandle(gfn)
        guard let out else { throw CAPIError.null("out") }
        try checkStructSize(out.pointee.struct_size, known: knownGFNMetricsSizes, name: "out")
        guard trainer.environment.enumeratedStateCount != nil else {
            throw CAPIError.invalid("the environment has more than 2^24 states; exact metrics are unavailable")
        }
        let m = try trainer.metrics()
        var r = fg_gfn_metrics()
        r.struct_size = UInt32(MemoryLayout<fg_gfn_metrics>.size)
        r.l1 = m.l1; r.tv = m.tv; r.jsd = m.jsd; r.log_z = m.logZ; r.log_z_true = m.logZTrue
        r.modes_found = UInt64(m.modesFound); r.n_modes = UInt64(m.modeCount); r.trajectories = UInt64(m.trajectories)
        r.mode_regions_found = UInt64(m.modeRegionsFound); r.n_mode_regions = UInt64(m.modeRegionCount)
        r.log_corr = m.logRewardCorrelation
        // Fill only the caller's layout (older headers have a shorter struct).
        let size = Int(out.pointee.struct_size)
        r.struct_size = UInt32(size)
        withUnsafeBytes(of: &r) { UnsafeMutableRawPointer(out).copyMemory(from: $0.baseAddress!, byteCount: size) }
    }
}

@_cdecl("fg_gfn_state_dim")
public func fg_gfn_state_dim(_ gfn: OpaquePointer?) -> Int { (try? gfnHandle(gfn))?.environment.stateDimension ?? 0 }

@_cdecl("fg_gfn_state_count")
public func fg_gfn_state_count(_ gfn: OpaquePointer?) -> Int { (try? gfnHandle(gfn))?.environment.enumeratedStateCount ?? 0 }

@_cdecl("fg_gfn_step")
public func fg_gfn_step(_ gfn: OpaquePointer?) -> UInt64 { UInt64((try? gfnHandle(gfn))?.step ?? 0) }

@_cdecl("fg_gfn_save")
public func fg_gfn_save(_ gfn: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> fg_status {
    gfnCall("fg_gfn_save") {
        let trainer = try gfnHandle(gfn)
        try trainer.save(to: try pathArgument(path))
    }
}

@_cdecl("fg_gfn_load")
public func fg_gfn_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall("fg_gfn_load") {
        guard let out else { throw CAPIError.null("out") }
        out.pointee = boxGFN(try GFlowNetTrainer.load(from: try pathArgument(path)))
    }
}

// MARK: - reward-only user environments

/// Wraps a C log-reward callback as a throwing Swift function.
func callbackLogReward(_ fn: fg_gfn_log_reward_fn, _ userData: UnsafeMutableRawPointer?, stateDimension: Int)
    -> ([Int32], Int) throws -> [Double] {
    return { states, count in
        var out = [Double](repeating: .nan, count: count)
        setLastError("")
        let status = states.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { op in
                fn(sp.baseAddress, count, stateDimension, op.baseAddress, userData)
            }
        }
        if status != 0 {
            let message = String(cString: fg_last_error())
            throw GFlowNetError.callback("the log reward callback returned \(status)" + (message.isEmpty ? "" : ": \(message)"))
        }
        return out
    }
}

@_cdecl("fg_gfn_create_with_reward")
public func fg_gfn_create_with_reward(_ params: UnsafePointer<fg_gfn_params>?, _ logReward: fg_gfn_log_reward_fn?,
                                      _ userData: UnsafeMutableRawPointer?,
                                      _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    createWithUserReward("fg_gfn_create_with_reward", params, nil, logReward, userData, out)
}

@_cdecl("fg_gfn_create_env_with_reward")
public func fg_gfn_create_env_with_reward(_ params: UnsafePointer<fg_gfn_params>?, _ envParams: UnsafePointer<fg_gfn_env_params>?,
                                          _ logReward: fg_gfn_log_reward_fn?, _ userData: UnsafeMutableRawPointer?,
                                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    createWithUserReward("fg_gfn_create_env_with_reward", params, envParams, logReward, userData, out)
}

/// Reward-only mode: a built-in structure (params.env with env_params) whose terminal log reward is the
/// caller's callback. Objectives that need intermediate rewards are refused (the callback gives none).
func createWithUserReward(_ function: StaticString, _ params: UnsafePointer<fg_gfn_params>?,
                          _ envParams: UnsafePointer<fg_gfn_env_params>?, _ logReward: fg_gfn_log_reward_fn?,
                          _ userData: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall(function) {
        guard let out else { throw CAPIError.null("out") }
        guard let logReward else { throw CAPIError.null("log_reward") }
        let (base, config) = try gfnSetup(params, envParams: envParams)
        let env = CustomRewardEnvironment(base: base, logReward: callbackLogReward(logReward, userData, stateDimension: base.stateDimension))
        if let problem = GFlowNetTrainer.compatibilityProblem(environment: env, configuration: config) {
            throw CAPIError.invalid("params.loss: \(problem)")
        }
        out.pointee = boxGFN(GFlowNetTrainer(environment: env, configuration: config))
    }
}

@_cdecl("fg_gfn_load_with_reward")
public func fg_gfn_load_with_reward(_ path: UnsafePointer<CChar>?, _ logReward: fg_gfn_log_reward_fn?,
                                    _ userData: UnsafeMutableRawPointer?,
                                    _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall("fg_gfn_load_with_reward") {
        guard let out else { throw CAPIError.null("out") }
        guard let logReward else { throw CAPIError.null("log_reward") }
        let file = try pathArgument(path)
        // The state dimension is known only after reading the header; the closure reads it lazily.
        var dimension = 0
        let wrapped: ([Int32], Int) throws -> [Double] = { states, count in
            try callbackLogReward(logReward, userData, stateDimension: dimension)(states, count)
        }
        let trainer = try GFlowNetTrainer.load(from: file, logReward: wrapped)
        dimension = trainer.environment.stateDimension
        out.pointee = boxGFN(trainer)
    }
}

@_cdecl("fg_gfn_set_callback_error")
public func fg_gfn_set_callback_error(_ message: UnsafePointer<CChar>?) -> fg_status {
    setLastError(message.map { String(cString: $0) } ?? "")
    return FG_OK
}
