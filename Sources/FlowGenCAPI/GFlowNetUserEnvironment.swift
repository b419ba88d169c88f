import CFlowGenABI
import FlowGen

// User environments from C (fg_gfn_env): every callback wrapped as a throwing Swift function feeding
// a CallbackEnvironment.

let knownGFNEnvSizes = [MemoryLayout<fg_gfn_env>.size]

@_cdecl("fg_gfn_env_default")
public func fg_gfn_env_default() -> fg_gfn_env {
    var e = fg_gfn_env()
    e.struct_size = UInt32(MemoryLayout<fg_gfn_env>.size)
    return e
}

/// Calls a user callback: clears the message slot first, turns a non-zero status into
/// `GFlowNetError.callback` with the message the callback set (if any).
func invokeCallback(_ name: String, _ body: () -> Int32) throws {
    setLastError("")
    let status = body()
    if status != 0 {
        let message = String(cString: fg_last_error())
        throw GFlowNetError.callback("the \(name) callback returned \(status)" + (message.isEmpty ? "" : ": \(message)"))
    }
}

/// The Swift functions of a C environment table (the table was validated by the caller).
func callbackFunctions(_ e: fg_gfn_env, forward: fg_gfn_env_mask_fn, backward: fg_gfn_env_mask_fn,
                       step: fg_gfn_env_step_fn, backStep: fg_gfn_env_step_fn, logReward: fg_gfn_log_reward_fn?,
                       encode: fg_gfn_env_encode_fn) -> CallbackEnvironment.Functions {
    let dim = Int(e.state_dim), a = Int(e.n_actions), n = Int(e.n_states)
    let userData = e.user_data
    func mask(_ fn: fg_gfn_env_mask_fn, _ name: String, _ columns: Int) -> ([Int32], Int) throws -> [Bool] {
        return { states, count in
            guard count > 0 else { return [] }
            var bytes = [UInt8](repeating: 0, count: count * columns)
            try invokeCallback(name) {
                states.withUnsafeBufferPointer { s in bytes.withUnsafeMutableBufferPointer { m in fn(s.baseAddress, count, m.baseAddress, userData) } }
            }
            return bytes.map { $0 != 0 }
        }
    }
    func transition(_ fn: fg_gfn_env_step_fn, _ name: String) -> ([Int32], [Int], Int) throws -> [Int32] {
        return { states, actions, count in
            guard count > 0 else { return [] }
            let acts = actions.map { Int32(truncatingIfNeeded: $0) }
            var out = states
            try invokeCallback(name) {
                states.withUnsafeBufferPointer { s in acts.withUnsafeBufferPointer { ap in
                    out.withUnsafeMutableBufferPointer { o in fn(s.baseAddress, ap.baseAddress, count, o.baseAddress, userData) } } }
            }
            return out
        }
    }
    let reward: ([Int32], Int) throws -> [Double] = logReward.map { callbackLogReward($0, userData, stateDimension: dim) }
        ?? { _, _ in throw GFlowNetError.callback("this environment has no log_reward callback") }
    var all: (() throws -> [Int32])? = nil
    if n > 0, let list = e.all_states {
        all = {
            var out = [Int32](repeating: 0, count: n * dim)
            try invokeCallback("all_states") { out.withUnsafeMutableBufferPointer { list($0.baseAddress, userData) } }
            return out
        }
    }
    _ = a
    return CallbackEnvironment.Functions(
        forwardMask: mask(forward, "forward_mask", a), backwardMask: mask(backward, "backward_mask", a - 1),
        step: transition(step, "step"), backwardStep: transition(backStep, "backward_step"),
        logReward: { states, count in count == 0 ? [] : try reward(states, count) },
        encode: { states, count, destination in
            guard count > 0 else { return }
            try invokeCallback("encode") { states.withUnsafeBufferPointer { encode($0.baseAddress, count, destination, userData) } }
        },
        allStates: all)
}

/// Validates a C environment table and builds its `CallbackEnvironment` (enumeration checked).
/// `requireReward == false` accepts a NULL `log_reward` (conditional GFlowNets supply their own).
/// `extraEncoding` widens the policy input for the weight and memory limits.
func callbackEnvironment(_ env: UnsafePointer<fg_gfn_env>?, config: GFlowNetTrainer.Configuration,
                         requireReward: Bool, extraEncoding: Int = 0) throws -> CallbackEnvironment {
    guard let env else { throw CAPIError.null("env") }
    let e = env.pointee
    try checkStructSize(e.struct_size, known: knownGFNEnvSizes, name: "env")
    func range(_ name: String, _ v: UInt32, _ lo: UInt32, _ hi: UInt32) throws {
        guard v >= lo && v <= hi else { throw CAPIError.invalid("env.\(name) must be in \(lo)…\(hi), got \(v)") }
    }
    try range("state_dim", e.state_dim, 1, 1 << 16)
    try range("n_actions", e.n_actions, 2, 1 << 16)
    try range("encoding_dim", e.encoding_dim, 1, 1 << 20)
    try range("max_length", e.max_length, 1, 1 << 20)
    guard e.n_states <= 1 << 24 else { throw CAPIError.invalid("env.n_states must be ≤ 2^24 (0 = not enumerable), got \(e.n_states)") }
    guard let s0 = e.initial_state else { throw CAPIError.null("env.initial_state") }
    guard let forward = e.forward_mask else { throw CAPIError.null("env.forward_mask") }
    guard let backward = e.backward_mask else { throw CAPIError.null("env.backward_mask") }
    guard let step = e.step else { throw CAPIError.null("env.step") }
    guard let backStep = e.backward_step else { throw CAPIError.null("env.backward_step") }
    if requireReward && e.log_reward == nil { throw CAPIError.null("env.log_reward") }
    guard let encode = e.encode else { throw CAPIError.null("env.encode") }
    if e.n_states > 0 && e.all_states == nil { throw CAPIError.null("env.all_states (needed when n_states > 0)") }
    let dim = Int(e.state_dim)
    guard Int(e.n_states) * dim <= 1 << 30 else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "env.n_states × env.state_dim is too large (limit 2^30)")
    }
    let w = config.hiddenWidth
    let weights = (Int(e.encoding_dim) + extraEncoding) * w + w * w * (config.hiddenLayers - 1) + w * (2 * Int(e.n_actions) + 1)
    guard weights <= 1 << 28 else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "the policy network would have \(weights) weights (limit 2^28)")
    }
    let functions = callbackFunctions(e, forward: forward, backward: backward, step: step, backStep: backStep,
                                      logReward: e.log_reward, encode: encode)
    let environment = CallbackEnvironment(
        stateDimension: dim, actionCount: Int(e.n_actions), encodingDimension: Int(e.encoding_dim),
        maxTrajectoryLength: Int(e.max_length), initialState: Array(UnsafeBufferPointer(start: s0, count: dim)),
        stateCount: e.n_states > 0 ? Int(e.n_states) : nil, functions: functions)
    if let problem = GFlowNetTrainer.resourceProblem(environment: environment, configuration: config) {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: problem)
    }
    try environment.validateEnumeration()
    return environment
}

@_cdecl("fg_gfn_create_with_env")
public func fg_gfn_create_with_env(_ params: UnsafePointer<fg_gfn_params>?, _ env: UnsafePointer<fg_gfn_env>?,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall("fg_gfn_create_with_env") {
        guard let out else { throw CAPIError.null("out") }
        guard env != nil else { throw CAPIError.null("env") }
        let (_, config) = try gfnSetup(params)
        let environment = try callbackEnvironment(env, config: config, requireReward: true)
        let problem = GFlowNetTrainer.compatibilityProblem(environment: environment, configuration: config)
        try environment.throwIfFailed()
        if let problem { throw CAPIError.invalid("params.loss: \(problem)") }
        out.pointee = boxGFN(GFlowNetTrainer(environment: environment, configuration: config))
    }
}

@_cdecl("fg_gfn_load_with_env")
public func fg_gfn_load_with_env(_ path: UnsafePointer<CChar>?, _ env: UnsafePointer<fg_gfn_env>?,
                                 _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall("fg_gfn_load_with_env") {
        guard let out else { throw CAPIError.null("out") }
        guard env != nil else { throw CAPIError.null("env") }
        let file = try pathArgument(path)
        let environment = try callbackEnvironmentForLoading(env, requireReward: true)
        out.pointee = boxGFN(try GFlowNetTrainer.load(from: file, environment: environment))
    }
}

/// A C environment table validated for loading a checkpoint: its own limits are checked with the smallest
/// network (the checkpoint's network sizes are checked when it is restored).
func callbackEnvironmentForLoading(_ env: UnsafePointer<fg_gfn_env>?, requireReward: Bool) throws -> CallbackEnvironment {
    var lenient = GFlowNetTrainer.Configuration()
    lenient.hiddenWidth = 1; lenient.hiddenLayers = 1; lenient.batchSize = 1
    let environment = try callbackEnvironment(env, config: lenient, requireReward: requireReward)
    try environment.throwIfFailed()
    return environment
}
