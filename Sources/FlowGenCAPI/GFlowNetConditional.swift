import CFlowGenABI
import FlowGen

// Conditional GFlowNets from C (fg_gfn_cond_*).

func condHandle(_ gfn: OpaquePointer?) throws -> ConditionalGFlowNet {
    guard let gfn else { throw CAPIError.null("gfn") }
    return Unmanaged<ConditionalGFlowNet>.fromOpaque(UnsafeRawPointer(gfn)).takeUnretainedValue()
}

/// Reads `count` finite floats.
func finiteFloats(_ pointer: UnsafePointer<Float>?, count: Int, name: String) throws -> [Float] {
    guard let pointer else { throw CAPIError.null(name) }
    let values = Array(UnsafeBufferPointer(start: pointer, count: count))
    for (i, v) in values.enumerated() where !v.isFinite {
        throw CAPIError(status: FG_ERR_NON_FINITE, message: "\(name)[\(i)] is \(v) (conditions must be finite)")
    }
    return values
}

/// Builds a conditional GFlowNet on `base` after validating the common arguments.
func makeConditional(base: DiscreteEnvironment, config: GFlowNetTrainer.Configuration, conditionDim: UInt32,
                     logReward: fg_gfn_cond_log_reward_fn, userData: UnsafeMutableRawPointer?) throws -> OpaquePointer {
    guard ConditionalGFlowNet.supportedObjectives.contains(config.objective) else {
        throw CAPIError.invalid("conditional GFlowNets support TB, DB, SubTB and ZVar, not \(config.objective.name)")
    }
    guard conditionDim >= 1 && conditionDim <= 4096 else {
        throw CAPIError.invalid("condition_dim must be in 1…4096, got \(conditionDim)")
    }
    let c = Int(conditionDim), dim = base.stateDimension
    let probe = ConditionedEnvironment(base: base, conditionDimension: c) { _, _, n in [Double](repeating: 0, count: n) }
    if let problem = GFlowNetTrainer.resourceProblem(environment: probe, configuration: config) {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: problem)
    }
    let gfn = ConditionalGFlowNet(base: base, conditionDimension: c, configuration: config,
                                  logReward: conditionalReward(logReward, userData) { (dim, c) })
    return OpaquePointer(Unmanaged.passRetained(gfn).toOpaque())
}

/// The C conditional log-reward callback as a Swift function; `dimensions()` gives (state_dim,
/// condition_dim) when it is called (after loading, they come from the checkpoint).
func conditionalReward(_ logReward: fg_gfn_cond_log_reward_fn, _ userData: UnsafeMutableRawPointer?,
                       dimensions: @escaping () -> (Int, Int)) -> ([Int32], [Float], Int) throws -> [Double] {
    return { states, conditions, n in
        var values = [Double](repeating: .nan, count: n)
        guard n > 0 else { return [] }
        let (dim, c) = dimensions()
        try invokeCallback("log reward") {
            states.withUnsafeBufferPointer { s in conditions.withUnsafeBufferPointer { cp in
                values.withUnsafeMutableBufferPointer { o in logReward(s.baseAddress, cp.baseAddress, n, dim, c, o.baseAddress, userData) } } }
        }
        return values
    }
}

@_cdecl("fg_gfn_cond_save")
public func fg_gfn_cond_save(_ gfn: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> fg_status {
    gfnCall("fg_gfn_cond_save") { try condHandle(gfn).save(to: try pathArgument(path)) }
}

@_cdecl("fg_gfn_cond_load")
public func fg_gfn_cond_load(_ path: UnsafePointer<CChar>?, _ logReward: fg_gfn_cond_log_reward_fn?,
                             _ userData: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    loadConditional("fg_gfn_cond_load", path, nil, logReward, userData, out)
}

@_cdecl("fg_gfn_cond_load_with_env")
public func fg_gfn_cond_load_with_env(_ path: UnsafePointer<CChar>?, _ env: UnsafePointer<fg_gfn_env>?,
                                      _ logReward: fg_gfn_cond_log_reward_fn?, _ userData: UnsafeMutableRawPointer?,
                                      _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    loadConditional("fg_gfn_cond_load_with_env", path, env, logReward, userData, out)
}

/// Loads a conditional checkpoint with the caller's reward (and user environment when `withEnv`).
func loadConditional(_ function: StaticString, _ path: UnsafePointer<CChar>?, _ env: UnsafePointer<fg_gfn_env>??,
                     _ logReward: fg_gfn_cond_log_reward_fn?, _ userData: UnsafeMutableRawPointer?,
                     _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall(function) {
        guard let out else { throw CAPIError.null("out") }
        var user: CallbackEnvironment? = nil
        if let env {
            guard env != nil else { throw CAPIError.null("env") }
            user = try callbackEnvironmentForLoading(env, requireReward: false)
        }
        guard let logReward else { throw CAPIError.null("log_reward") }
        let file = try pathArgument(path)
        var dimensions = (0, 0)
        let model = try ConditionalGFlowNet.load(from: file, logReward: conditionalReward(logReward, userData) { dimensions },
                                                 environment: user)
        dimensions = (model.environment.base.stateDimension, model.environment.conditionDimension)
        out.pointee = OpaquePointer(Unmanaged.passRetained(model).toOpaque())
    }
}

@_cdecl("fg_gfn_cond_create")
public func fg_gfn_cond_create(_ params: UnsafePointer<fg_gfn_params>?, _ conditionDim: UInt32,
                               _ logReward: fg_gfn_cond_log_reward_fn?, _ userData: UnsafeMutableRawPointer?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall("fg_gfn_cond_create") {
        guard let out else { throw CAPIError.null("out") }
        guard let logReward else { throw CAPIError.null("log_reward") }
        let (grid, config) = try gfnSetup(params)
        out.pointee = try makeConditional(base: grid, config: config, conditionDim: conditionDim, logReward: logReward, userData: userData)
    }
}

@_cdecl("fg_gfn_cond_create_with_env")
public func fg_gfn_cond_create_with_env(_ params: UnsafePointer<fg_gfn_params>?, _ env: UnsafePointer<fg_gfn_env>?,
                                        _ conditionDim: UInt32, _ logReward: fg_gfn_cond_log_reward_fn?,
                                        _ userData: UnsafeMutableRawPointer?,
                                        _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall("fg_gfn_cond_create_with_env") {
        guard let out else { throw CAPIError.null("out") }
        guard env != nil else { throw CAPIError.null("env") }
        guard let logReward else { throw CAPIError.null("log_reward") }
        let (_, config) = try gfnSetup(params)
        guard conditionDim >= 1 && conditionDim <= 4096 else {
            throw CAPIError.invalid("condition_dim must be in 1…4096, got \(conditionDim)")
        }
        let base = try callbackEnvironment(env, config: config, requireReward: false, extraEncoding: Int(conditionDim))
        out.pointee = try makeConditional(base: base, config: config, conditionDim: conditionDim, logReward: logReward, userData: userData)
    }
}

@_cdecl("fg_gfn_cond_free")
public func fg_gfn_cond_free(_ gfn: OpaquePointer?) {
    guard let gfn else { return }
    Unmanaged<ConditionalGFlowNet>.fromOpaque(UnsafeRawPointer(gfn)).release()
}

@_cdecl("fg_gfn_cond_train")
public func fg_gfn_cond_train(_ gfn: OpaquePointer?, _ conditions: UnsafePointer<Float>?, _ nConditions: Int,
                              _ nTrajectories: UInt64, _ progress: fg_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                              _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    gfnCall("fg_gfn_cond_train") {
        let model = try condHandle(gfn)
        guard nConditions > 0, nConditions <= 1 << 24 else {
            throw CAPIError.invalid("n_conditions must be in 1…2^24, got \(nConditions < 0 ? "a value ≥ 2^63" : String(nConditions))")
        }
        guard nTrajectories > 0, nTrajectories <= 1 << 40 else {
            throw CAPIError.invalid("n_trajectories must be in 1…2^40, got \(nTrajectories)")
        }
        let c = model.environment.conditionDimension
        guard nConditions * c <= 1 << 28 else {
            throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "n_conditions × condition_dim is too large (limit 2^28)")
        }
        let set = try finiteFloats(conditions, count: nConditions * c, name: "conditions")
        var callback: ((Int, Int, Float) -> Bool)? = nil
        if let progress {
            callback = { step, total, loss in progress(UInt64(step), UInt64(total), loss, userData) == 0 }
        }
        // (Not `outLoss?.pointee = try …`: optional chaining would skip training when out_loss is NULL.)
        let loss = try model.train(trajectories: Int(nTrajectories), conditionSet: set, progress: callback)
        outLoss?.pointee = loss
    }
}

@_cdecl("fg_gfn_cond_sample")
public func fg_gfn_cond_sample(_ gfn: OpaquePointer?, _ condition: UnsafePointer<Float>?, _ k: Int, _ seed: UInt64,
                               _ dst: UnsafeMutablePointer<Int32>?, _ dstLength: Int,
                               _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    gfnCall("fg_gfn_cond_sample") {
        let model = try condHandle(gfn)
        let cond = try finiteFloats(condition, count: model.environment.conditionDimension, name: "condition")
        try writeSampledStates(k: k, stateDimension: model.environment.base.stateDimension, dst, dstLength, outLength) {
            try model.sample(k, condition: cond, seed: seed)
        }
    }
}

func condDistribution(_ function: StaticString, _ gfn: OpaquePointer?, _ condition: UnsafePointer<Float>?,
                      _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?,
                      _ compute: (ConditionalGFlowNet, [Float]) throws -> [Double]) -> fg_status {
    gfnCall(function) {
        let model = try condHandle(gfn)
        let cond = try finiteFloats(condition, count: model.environment.conditionDimension, name: "condition")
        try writeStateDistribution(stateCount: model.environment.enumeratedStateCount, dst, dstLength, outLength) {
            try compute(model, cond)
        }
    }
}

@_cdecl("fg_gfn_cond_exact_distribution")
public func fg_gfn_cond_exact_distribution(_ gfn: OpaquePointer?, _ condition: UnsafePointer<Float>?, _ dst: UnsafeMutablePointer<Float>?,
                                           _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    condDistribution("fg_gfn_cond_exact_distribution", gfn, condition, dst, dstLength, outLength) { try $0.exactDistribution(condition: $1) }
}

@_cdecl("fg_gfn_cond_target_distribution")
public func fg_gfn_cond_target_distribution(_ gfn: OpaquePointer?, _ condition: UnsafePointer<Float>?, _ dst: UnsafeMutablePointer<Float>?,
                                            _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    condDistribution("fg_gfn_cond_target_distribution", gfn, condition, dst, dstLength, outLength) { try $0.target(condition: $1).probabilities }
}

@_cdecl("fg_gfn_cond_log_z")
public func fg_gfn_cond_log_z(_ gfn: OpaquePointer?, _ condition: UnsafePointer<Float>?, _ outLogZ: UnsafeMutablePointer<Float>?,
                              _ outLogZTrue: UnsafeMutablePointer<Double>?) -> fg_status {
    gfnCall("fg_gfn_cond_log_z") {
        let model = try condHandle(gfn)
        guard let outLogZ else { throw CAPIError.null("out_log_z") }
        let cond = try finiteFloats(condition, count: model.environment.conditionDimension, name: "condition")
        if let outLogZTrue {
            guard model.environment.enumeratedStateCount != nil else {
                throw CAPIError.invalid("the environment has more than 2^24 states; the true log Z is unavailable")
            }
            outLogZTrue.pointee = try model.target(condition: cond).logZ
        }
        outLogZ.pointee = model.logZ(cond)[0]
    }
}

@_cdecl("fg_gfn_cond_condition_dim")
public func fg_gfn_cond_condition_dim(_ gfn: OpaquePointer?) -> Int {
    (try? condHandle(gfn).environment.conditionDimension) ?? 0
}

@_cdecl("fg_gfn_cond_state_dim")
public func fg_gfn_cond_state_dim(_ gfn: OpaquePointer?) -> Int {
    (try? condHandle(gfn).environment.base.stateDimension) ?? 0
}
