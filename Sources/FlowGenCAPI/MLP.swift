import CFlowGenABI
import FlowGen

/// Layouts of fg_mlp_params this library accepts (sizeof per header version).
let knownMLPParamsSizes = [MemoryLayout<fg_mlp_params>.size]

/// FG_ACT_* codes in order.
let activationByCode: [ActivationKind] = [.relu, .leakyRelu, .tanh, .sigmoid, .elu, .selu, .gelu, .silu, .softplus]

@_cdecl("fg_mlp_default_params")
public func fg_mlp_default_params() -> fg_mlp_params {
    var p = fg_mlp_params()
    p.struct_size = UInt32(MemoryLayout<fg_mlp_params>.size)
    p.activation = UInt32(FG_ACT_RELU)
    p.task = UInt32(FG_TASK_REGRESSION)
    p.optimizer = UInt32(FG_OPTIM_ADAM)
    p.seed = 0
    p.learning_rate = 1e-3
    p.weight_decay = 0
    p.grad_clip_norm = 0
    p.batch_size = 0
    return p
}

/// Turns C params into a model configuration, checking every field.
func mlpConfiguration(widths: [Int], params: UnsafePointer<fg_mlp_params>?) throws -> SupervisedMLP.Configuration {
    let p = params?.pointee ?? fg_mlp_default_params()
    try checkStructSize(p.struct_size, known: knownMLPParamsSizes, name: "params")
    var c = SupervisedMLP.Configuration(widths: widths)
    guard Int(p.activation) < activationByCode.count else {
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.activation = \(p.activation) is not an FG_ACT_* value")
    }
    c.activation = activationByCode[Int(p.activation)]
    guard let task = SupervisedMLP.Task(rawValue: p.task) else {
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.task = \(p.task) is not an FG_TASK_* value")
    }
    c.task = task
    guard let optimizer = SupervisedMLP.OptimizerKind(rawValue: p.optimizer) else {
        throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "params.optimizer = \(p.optimizer) is not an FG_OPTIM_* value")
    }
    c.optimizer = optimizer
    guard p.learning_rate.isFinite, p.learning_rate > 0 else {
        throw CAPIError.invalid("params.learning_rate must be finite and > 0, got \(p.learning_rate)")
    }
    guard p.weight_decay.isFinite, p.weight_decay >= 0 else {
        throw CAPIError.invalid("params.weight_decay must be finite and ≥ 0, got \(p.weight_decay)")
    }
    guard p.grad_clip_norm.isFinite, p.grad_clip_norm >= 0 else {
        throw CAPIError.invalid("params.grad_clip_norm must be finite and ≥ 0 (0 = off), got \(p.grad_clip_norm)")
    }
    c.seed = p.seed
    c.learningRate = p.learning_rate
    c.weightDecay = p.weight_decay
    c.gradientClipNorm = p.grad_clip_norm
    c.batchSize = Int(p.batch_size)
    return c
}

func mlpHandle(_ mlp: OpaquePointer?) throws -> SupervisedMLP {
    guard let mlp else { throw CAPIError.null("mlp") }
    return Unmanaged<SupervisedMLP>.fromOpaque(UnsafeRawPointer(mlp)).takeUnretainedValue()
}

func boxMLP(_ model: SupervisedMLP) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(model).toOpaque())
}

@_cdecl("fg_mlp_create")
public func fg_mlp_create(_ layerSizes: UnsafePointer<UInt32>?, _ nSizes: Int,
                          _ params: UnsafePointer<fg_mlp_params>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return capiCall("fg_mlp_create") {
        guard let out else { throw CAPIError.null("out") }
        guard let layerSizes else { throw CAPIError.null("layer_sizes") }
        guard nSizes >= 2 && nSizes <= 1024 else {
            throw CAPIError.invalid("n_sizes must be in 2…1024 (input and output widths at least), got \(nSizes < 0 ? "a value ≥ 2^63" : String(nSizes))")
        }
        let widths = (0..<nSizes).map { Int(layerSizes[$0]) }
        for (i, w) in widths.enumerated() where w < 1 || w > 1 << 20 {
            throw CAPIError.invalid("layer_sizes[\(i)] = \(w) is outside 1…1048576")
        }
        var params64 = 0
        for i in 0..<(widths.count - 1) { params64 += widths[i] * widths[i + 1] + widths[i + 1] }
        guard params64 <= 1 << 30 else {
            throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "the network would have \(params64) parameters (limit 2^30, so that a checkpoint with optimizer state stays loadable)")
        }
        let config = try mlpConfiguration(widths: widths, params: params)
        out.pointee = boxMLP(SupervisedMLP(config))
    }
}

@_cdecl("fg_mlp_free")
public func fg_mlp_free(_ mlp: OpaquePointer?) {
    guard let mlp else { return }
    Unmanaged<SupervisedMLP>.fromOpaque(UnsafeRawPointer(mlp)).release()
}

/// Validates and copies (x, y) for fit/evaluate.
func mlpData(_ model: SupervisedMLP, x: UnsafePointer<Float>?, rows: Int, cols: Int,
             y: UnsafePointer<Float>?, yLength: Int) throws -> (Tensor, Tensor) {
    guard let x else { throw CAPIError.null("x") }
    guard let y else { throw CAPIError.null("y") }
    guard cols == model.inputWidth else {
        throw CAPIError.shape("n_cols = \(UInt(bitPattern: cols)) but the network's input width is \(model.inputWidth)")
    }
    _ = try checkedMatrixCount(rows: rows, cols: cols, rowsName: "n_rows", colsName: "n_cols")
    let classification = model.configuration.task == .classification
    let yWidth = classification ? 1 : model.outputWidth
    let expectedY = try checkedMatrixCount(rows: rows, cols: yWidth, rowsName: "n_rows", colsName: "target width")
    guard yLength == expectedY else {
        throw CAPIError.shape(classification
            ? "y_len = \(yLength) but classification needs one class id per row (\(rows))"
            : "y_len = \(yLength) but regression needs n_rows × output_dim = \(expectedY)")
    }
    let xt = try copyFiniteTensor(x, shape: [rows, cols], name: "x")
    let yt = try copyFiniteTensor(y, shape: classification ? [rows] : [rows, yWidth], name: "y")
    if classification {
        let classes = Float(model.outputWidth)
        try yt.withUnsafeBufferPointer { p in
            for i in 0..<p.count where p[i] < 0 || p[i] >= classes || p[i].rounded() != p[i] {
                throw CAPIError(status: FG_ERR_OUT_OF_RANGE,
                                message: "y[\(i)] = \(p[i]) is not a class id in 0…\(model.outputWidth - 1)")
            }
        }
    }
    return (xt, yt)
}

@_cdecl("fg_mlp_fit")
public func fg_mlp_fit(_ mlp: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nRows: Int, _ nCols: Int,
                       _ y: UnsafePointer<Float>?, _ yLength: Int, _ steps: UInt32,
                       _ progress: fg_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                       _ outLoss: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_mlp_fit") {
        let model = try mlpHandle(mlp)
        let (xt, yt) = try mlpData(model, x: x, rows: nRows, cols: nCols, y: y, yLength: yLength)
        guard steps > 0 else { throw CAPIError.invalid("steps must be positive") }
        var callback: ((Int, Int, Float) -> Bool)? = nil
        if let progress {
            callback = { step, total, loss in progress(UInt64(step), UInt64(total), loss, userData) == 0 }
        }
        let loss = try model.fit(x: xt, y: yt, steps: Int(steps), progress: callback)
        outLoss?.pointee = loss
    }
}

@_cdecl("fg_mlp_predict")
public func fg_mlp_predict(_ mlp: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nRows: Int, _ nCols: Int,
                           _ dst: UnsafeMutablePointer<Float>?, _ dstLength: Int,
                           _ outLength: UnsafeMutablePointer<Int>?) -> fg_status {
    capiCall("fg_mlp_predict") {
        let model = try mlpHandle(mlp)
        guard let x else { throw CAPIError.null("x") }
        guard nCols == model.inputWidth else {
            throw CAPIError.shape("n_cols = \(UInt(bitPattern: nCols)) but the network's input width is \(model.inputWidth)")
        }
        _ = try checkedMatrixCount(rows: nRows, cols: nCols, rowsName: "n_rows", colsName: "n_cols")
        let needed = try checkedMatrixCount(rows: nRows, cols: model.outputWidth, rowsName: "n_rows", colsName: "output_dim")
        if dst == nil || dstLength < needed {
            // Size query or short buffer: answer without computing.
            outLength?.pointee = needed
            if dst == nil {
                guard outLength != nil else { throw CAPIError.null("dst and out_len (one is needed)") }
                return
            }
            throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "dst holds \(dstLength < 0 ? "?" : String(dstLength)) floats, \(needed) are needed")
        }
        let xt = try copyFiniteTensor(x, shape: [nRows, nCols], name: "x")
        try writeOutput(model.predict(xt), dst: dst, dstLength: dstLength, outLength: outLength)
    }
}

@_cdecl("fg_mlp_evaluate")
public func fg_mlp_evaluate(_ mlp: OpaquePointer?, _ x: UnsafePointer<Float>?, _ nRows: Int, _ nCols: Int,
                            _ y: UnsafePointer<Float>?, _ yLength: Int,
                            _ outLoss: UnsafeMutablePointer<Float>?, _ outAccuracy: UnsafeMutablePointer<Float>?) -> fg_status {
    capiCall("fg_mlp_evaluate") {
        let model = try mlpHandle(mlp)
        let (xt, yt) = try mlpData(model, x: x, rows: nRows, cols: nCols, y: y, yLength: yLength)
        let (loss, accuracy) = model.evaluate(x: xt, y: yt)
        outLoss?.pointee = loss
        outAccuracy?.pointee = accuracy
    }
}

@_cdecl("fg_mlp_input_dim")
public func fg_mlp_input_dim(_ mlp: OpaquePointer?) -> Int { (try? mlpHandle(mlp))?.inputWidth ?? 0 }

@_cdecl("fg_mlp_output_dim")
public func fg_mlp_output_dim(_ mlp: OpaquePointer?) -> Int { (try? mlpHandle(mlp))?.outputWidth ?? 0 }

@_cdecl("fg_mlp_parameter_count")
public func fg_mlp_parameter_count(_ mlp: OpaquePointer?) -> Int { (try? mlpHandle(mlp))?.network.parameterCount ?? 0 }

@_cdecl("fg_mlp_step")
public func fg_mlp_step(_ mlp: OpaquePointer?) -> UInt64 { UInt64((try? mlpHandle(mlp))?.step ?? 0) }

@_cdecl("fg_mlp_save")
public func fg_mlp_save(_ mlp: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> fg_status {
    capiCall("fg_mlp_save") {
        let model = try mlpHandle(mlp)
        try model.save(to: try pathArgument(path))
    }
}

@_cdecl("fg_mlp_load")
public func fg_mlp_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> fg_status {
    out?.pointee = nil
    return capiCall("fg_mlp_load") {
        guard let out else { throw CAPIError.null("out") }
        let model = try SupervisedMLP.load(from: try pathArgument(path))
        out.pointee = boxMLP(model)
    }
}
