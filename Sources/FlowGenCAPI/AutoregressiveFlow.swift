import CFlowGenABI
import FlowGen

// The fg_maf_* entry points (include/flowgen.h, "Masked autoregressive flows"). Arguments are validated here
// before the core runs; a failure leaves the handle as it was (cancelled training keeps its steps).

@_cdecl("fg_maf_default_params")
public func fg_maf_default_params() -> fg_maf_params {
    let c = MaskedAutoregressiveFlow.Configuration(dim: 2)
    var p = fg_maf_params()
    p.struct_size = UInt32(MemoryLayout<fg_maf_params>.size)
    p.dim = UInt32(c.dim)
    p.blocks = UInt32(c.blocks)
    p.hidden_width = UInt32(c.hiddenWidth)
    p.hidden_layers = UInt32(c.hiddenLayers)
    p.batch_size = UInt32(c.batchSize)
    p.seed = c.seed
    p.learning_rate = c.learningRate
    p.log_scale_bound = c.logScaleBound
    return p
}

func mafHandle(_ maf: OpaquePointer?) throws -> MaskedAutoregressiveFlow {
    guard let maf else { throw CAPIError.null("maf") }
    return Unmanaged<MaskedAutoregressiveFlow>.fromOpaque(UnsafeRawPointer(maf)).takeUnretainedValue()
}

@_cdecl("fg_maf_create")
public func fg_maf_create(_ params: UnsafePointer<fg_maf_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return capiCall("fg_maf_create") {
        guard let out else { throw CAPIError.null("out") }
        let p = try readVersionedParams(params, defaults: fg_maf_default_params(), older: [])
        var c = MaskedAutoregressiveFlow.Configuration(dim: Int(p.dim))
        c.blocks = Int(p.blocks); c.hiddenWidth = Int(p.hidden_width); c.hiddenLayers = Int(p.hidden_layers)
        c.batchSize = Int(p.batch_size); c.seed = p.seed; c.learningRate = p.learning_rate; c.logScaleBound = p.log_scale_bound
        if let problem = c.rangeProblem { throw CAPIError.invalid("params: \(problem)") }
        if let problem = c.problem { throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "params: \(problem)") }
        out.pointee = OpaquePointer(Unmanaged.passRetained(MaskedAutoregressiveFlow(c)).toOpaque())
    }
}

@_cdecl("fg_maf_free")
public func fg_maf_free(_ maf: OpaquePointer?) {
    guard let maf else { return }
    Unmanaged<MaskedAutoregressiveFlow>.fromOpaque(UnsafeRawPointer(maf)).release()
}

/// A finite [rows, dim] input matching the flow, copied.
func mafMatrix(_ pointer: UnsafePointer<Float>?, rows: Int, dim: Int, flow: MaskedAutoregressiveFlow, name: String) throws -> Tensor {
    guard let pointer else { throw CAPIError.null(name) }
    _ = try checkedMatrixCount(rows: rows, cols: dim, rowsName: "n_rows", colsName: "dim")
    guard dim == flow.dim else { throw CAPIError.shape("dim = \(dim) but the flow's dimension is \(flow.dim)") }
    guard rows.multipliedReportingOverflow(by: flow.configuration.hiddenWidth * 2).partialValue <= 1 << 31, rows <= 1 << 28 else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "n_rows = \(rows) is too large for one pass")
    }
    return try copyFiniteTensor(pointer, shape: [rows, dim], name: name)
}

@_cdecl("fg_maf_fit")
public func fg_maf_fit(_ maf: OpaquePointer?, _ data: UnsafePointer<Float>?, _ nRows: Int, _ dim: Int, _ steps: UInt32,
                       _ progress: fg_progress_fn?, _ userData: UnsafeMutableRawPointer?, _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_maf_fit") {
        let flow = try mafHandle(maf)
        let x = try mafMatrix(data, rows: nRows, dim: dim, flow: flow, name: "data")
        guard steps > 0 else { throw CAPIError.invalid("steps must be positive") }
        outLoss?.pointee = try flow.fit(data: x, steps: Int(steps), progress: progressClosure(progress, userData))
    }
}

@_cdecl("fg_maf_log_prob")
public func fg_maf_log_prob(_ maf: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nRows: Int, _ dim: Int,
                            _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int, _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    capiCall("fg_maf_log_prob") {
        let flow = try mafHandle(maf)
        let points = try mafMatrix(x, rows: nRows, dim: dim, flow: flow, name: "x")
        if try fmOutputPrecheck(needed: nRows, dst: dst, dstLength: dstLength, outLength: outLength) { return }
        let logp = flow.logProbability(points)
        try writeOutput(Tensor(shape: [logp.count], scalars: logp), dst: dst, dstLength: dstLength, outLength: outLength)
    }
}

@_cdecl("fg_maf_sample")
public func fg_maf_sample(_ maf: OpaquePointer?, _ n: Int, _ seed: UInt64, _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                          _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    capiCall("fg_maf_sample") {
        let flow = try mafHandle(maf)
        let needed = try checkedMatrixCount(rows: n, cols: flow.dim, rowsName: "n", colsName: "dim")
        guard n <= 1 << 28, n.multipliedReportingOverflow(by: flow.configuration.hiddenWidth * 2).partialValue <= 1 << 31 else {
            throw CAPIError.invalid("n = \(n) is too large for one pass")
        }
        if try fmOutputPrecheck(needed: needed, dst: dst, dstLength: dstLength, outLength: outLength) { return }
        try writeOutput(flow.sample(n, seed: seed), dst: dst, dstLength: dstLength, outLength: outLength)
    }
}

@_cdecl("fg_maf_dim")
public func fg_maf_dim(_ maf: OpaquePointer?) -> Int { (try? mafHandle(maf))?.dim ?? 0 }

@_cdecl("fg_maf_step")
public func fg_maf_step(_ maf: OpaquePointer?) -> UInt64 { UInt64((try? mafHandle(maf))?.step ?? 0) }

@_cdecl("fg_maf_save")
public func fg_maf_save(_ maf: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> fg_status {
    capiCall("fg_maf_save") { try mafHandle(maf).save(to: try pathArgument(path)) }
}

@_cdecl("fg_maf_load")
public func fg_maf_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return capiCall("fg_maf_load") {
        guard let out else { throw CAPIError.null("out") }
        let flow = try MaskedAutoregressiveFlow.load(from: try pathArgument(path))
        out.pointee = OpaquePointer(Unmanaged.passRetained(flow).toOpaque())
    }
}
