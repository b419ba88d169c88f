import CFlowGenABI
import FlowGen

// External-policy mode (fg_gfn_external_*): GFlowNet objectives on an outside model's log-probabilities.

let knownExternalBatchSizes = [MemoryLayout<fg_gfn_external_batch>.size]

@_cdecl("fg_gfn_external_default_batch")
public func fg_gfn_external_default_batch() -> fg_gfn_external_batch {
    var b = fg_gfn_external_batch()
    b.struct_size = UInt32(MemoryLayout<fg_gfn_external_batch>.size)
    b.loss = UInt32(FG_GFN_LOSS_TB)
    b.lambda = 0.9
    b.log_z = 0
    return b
}

/// Reads and validates a C external batch into the Swift form and objective.
func externalBatch(_ pointer: UnsafePointer<fg_gfn_external_batch>) throws -> (ExternalTrajectoryBatch, ExternalPolicyObjective) {
    let p = pointer.pointee
    try checkStructSize(p.struct_size, known: knownExternalBatchSizes, name: "batch")
    let objective: ExternalPolicyObjective
    switch p.loss {
    case UInt32(FG_GFN_LOSS_TB): objective = .trajectoryBalance(logZ: p.log_z)
    case UInt32(FG_GFN_LOSS_DB): objective = .detailedBalance
    case UInt32(FG_GFN_LOSS_SUBTB): objective = .subTrajectoryBalance(lambda: p.lambda)
    case UInt32(FG_GFN_LOSS_ZVAR): objective = .logPartitionVariance
    case UInt32(FG_GFN_LOSS_FM):
        throw CAPIError.invalid("batch.loss = FG_GFN_LOSS_FM needs edge flows, not per-step log-probabilities; use TB, DB, SubTB or ZVar")
    default:
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "batch.loss = \(p.loss) is not an FG_GFN_LOSS_* value")
    }
    guard p.max_length >= 1, p.batch_size >= 1 else {
        throw CAPIError.invalid("batch.max_length and batch.batch_size must be ≥ 1 (got \(p.max_length), \(p.batch_size))")
    }
    guard p.max_length <= 1 << 24, p.batch_size <= 1 << 24, p.max_length * p.batch_size <= 1 << 30 else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "batch.max_length × batch.batch_size = \(p.max_length) × \(p.batch_size) is too large (each ≤ 2^24, product ≤ 2^30)")
    }
    let t = Int(p.max_length), b = Int(p.batch_size), n = t * b
    guard let logPF = p.log_pf else { throw CAPIError.null("batch.log_pf") }
    guard let logPB = p.log_pb else { throw CAPIError.null("batch.log_pb") }
    guard let logR = p.log_r else { throw CAPIError.null("batch.log_r") }
    guard let lengths = p.lengths else { throw CAPIError.null("batch.lengths") }
    if objective.needsLogFlow && p.log_f == nil { throw CAPIError.null("batch.log_f (DB and SubTB need log F)") }
    if p.energies != nil && p.log_f == nil {
        throw CAPIError.invalid("batch.energies (forward-looking) need batch.log_f and loss DB or SubTB")
    }
    let batch = ExternalTrajectoryBatch(
        maxLength: t, batchSize: b,
        logPF: Array(UnsafeBufferPointer(start: logPF, count: n)),
        logPB: Array(UnsafeBufferPointer(start: logPB, count: n)),
        logF: p.log_f.map { Array(UnsafeBufferPointer(start: $0, count: n)) },
        energies: p.energies.map { Array(UnsafeBufferPointer(start: $0, count: n)) },
        logRewards: Array(UnsafeBufferPointer(start: logR, count: b)),
        lengths: UnsafeBufferPointer(start: lengths, count: b).map { Int($0) },
        complete: p.complete.map { UnsafeBufferPointer(start: $0, count: b).map { $0 != 0 } })
    if let issue = batch.issue(for: objective) {
        switch issue.kind {
        case .invalid: throw CAPIError.invalid("batch: \(issue.message)")
        case .nonFinite: throw CAPIError(status: FG_ERR_NON_FINITE, message: "batch: \(issue.message)")
        case .tooLarge: throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "batch: \(issue.message)")
        }
    }
    return (batch, objective)
}

@_cdecl("fg_gfn_external_loss")
public func fg_gfn_external_loss(_ batch: UnsafePointer<fg_gfn_external_batch>?, _ outLoss: UnsafeMutablePointer<Float>?,
                                 _ gradLogPF: UnsafeMutablePointer<Float>?, _ gradLogPB: UnsafeMutablePointer<Float>?,
                                 _ gradLogF: UnsafeMutablePointer<Float>?, _ gradLength: Int,
                                 _ outGradLogZ: UnsafeMutablePointer<Float>?) -> fg_status {
    gfnCall("fg_gfn_external_loss") {
        guard let batch else { throw CAPIError.null("batch") }
        guard let outLoss else { throw CAPIError.null("out_loss") }
        let (input, objective) = try externalBatch(batch)
        let n = input.maxLength * input.batchSize
        if gradLogPF != nil || gradLogPB != nil || gradLogF != nil {
            guard gradLength >= n else {
                throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "grad_len = \(gradLength < 0 ? "?" : String(gradLength)) floats, T × B = \(n) are needed")
            }
        }
        if gradLogF != nil && input.logF == nil {
            throw CAPIError.invalid("grad_log_f was given but the objective has no log F (TB/ZVar); pass NULL")
        }
        let result = externalPolicyLoss(input, objective: objective)
        guard result.loss.isFinite else {
            throw CAPIError(status: FG_ERR_NUMERICAL, message: "the loss is \(result.loss) (inputs too large in magnitude)")
        }
        outLoss.pointee = result.loss
        outGradLogZ?.pointee = result.gradLogZ
        gradLogPF?.update(from: result.gradLogPF, count: n)
        gradLogPB?.update(from: result.gradLogPB, count: n)
        if let gradLogF, let g = result.gradLogF { gradLogF.update(from: g, count: n) }
    }
}
