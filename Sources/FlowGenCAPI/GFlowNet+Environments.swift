import CFlowGenABI
import FlowGen

/// Layouts of fg_gfn_env_params this library accepts.
let knownGFNEnvParamsSizes = [MemoryLayout<fg_gfn_env_params>.size]

@_cdecl("fg_gfn_default_env_params")
public func fg_gfn_default_env_params() -> fg_gfn_env_params {
    var e = fg_gfn_env_params()
    e.struct_size = UInt32(MemoryLayout<fg_gfn_env_params>.size)
    e.seq_len = 12; e.word_size = 4; e.n_modes = 8; e.mode_threshold = 0
    e.ising_side = 3; e.ising_dims = 2
    e.n_items = 12; e.set_size = 6
    e.beta = 1; e.coupling = 0.5; e.env_seed = 0
    return e
}

/// Validates the env params of `p.env` (BITSEQ, ISING or SET) and builds the environment and configuration.
func gfnSetupZoo(_ p: fg_gfn_params, _ envParams: UnsafePointer<fg_gfn_env_params>?,
                 objective: GFlowNetObjective) throws -> (DiscreteEnvironment, GFlowNetTrainer.Configuration) {
    let e = envParams?.pointee ?? fg_gfn_default_env_params()
    try checkStructSize(e.struct_size, known: knownGFNEnvParamsSizes, name: "env_params")
    let env: DiscreteEnvironment
    switch Int32(p.env) {
    case FG_GFN_ENV_BITSEQ:
        guard e.beta.isFinite else { throw CAPIError(status: FG_ERR_NON_FINITE, message: "env_params.beta is \(e.beta)") }
        if let problem = BitSequence.problem(length: Int(e.seq_len), wordSize: Int(e.word_size), modeCount: Int(e.n_modes),
                                             beta: e.beta, modeThreshold: Int(e.mode_threshold)) {
            throw CAPIError.invalid("env_params: \(problem)")
        }
        env = BitSequence(length: Int(e.seq_len), wordSize: Int(e.word_size), modeCount: Int(e.n_modes), beta: e.beta,
                          modeThreshold: Int(e.mode_threshold), seed: e.env_seed)
    case FG_GFN_ENV_ISING:
        guard e.coupling.isFinite else { throw CAPIError(status: FG_ERR_NON_FINITE, message: "env_params.coupling is \(e.coupling)") }
        if let problem = IsingModel.latticeProblem(side: Int(e.ising_side), dimensions: Int(e.ising_dims), coupling: e.coupling) {
            throw CAPIError.invalid("env_params: \(problem)")
        }
        env = IsingModel(latticeSide: Int(e.ising_side), dimensions: Int(e.ising_dims), coupling: e.coupling)
    default:
        guard e.beta.isFinite else { throw CAPIError(status: FG_ERR_NON_FINITE, message: "env_params.beta is \(e.beta)") }
        if let problem = SetGeneration.problem(itemCount: Int(e.n_items), setSize: Int(e.set_size), beta: e.beta) {
            throw CAPIError.invalid("env_params: \(problem)")
        }
        env = SetGeneration(itemCount: Int(e.n_items), setSize: Int(e.set_size), beta: e.beta, seed: e.env_seed)
    }
    return (env, try gfnConfiguration(p, objective: objective, environment: env))
}

@_cdecl("fg_gfn_create_env")
public func fg_gfn_create_env(_ params: UnsafePointer<fg_gfn_params>?, _ envParams: UnsafePointer<fg_gfn_env_params>?,
                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return gfnCall("fg_gfn_create_env") {
        guard let out else { throw CAPIError.null("out") }
        let (env, config) = try gfnSetup(params, envParams: envParams)
        out.pointee = boxGFN(GFlowNetTrainer(environment: env, configuration: config))
    }
}
