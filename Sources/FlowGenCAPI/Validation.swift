import CFlowGenABI
import FlowGen

/// Largest element count accepted for one input array (2³⁴ floats = 64 GiB): larger requests are
/// reported as FG_ERR_OUT_OF_MEMORY instead of attempting the allocation.
let maxElementCount = 1 << 34

/// rows × cols with overflow and size checks; both must be positive.
func checkedMatrixCount(rows: Int, cols: Int, rowsName: String, colsName: String) throws -> Int {
    // size_t values ≥ 2^63 arrive as negative Ints: they are sizes too large to allocate.
    guard rows != 0 else { throw CAPIError.invalid("\(rowsName) must be positive (got 0)") }
    guard cols != 0 else { throw CAPIError.invalid("\(colsName) must be positive (got 0)") }
    let (n, overflow) = rows.multipliedReportingOverflow(by: cols)
    guard rows > 0, cols > 0, !overflow, n <= maxElementCount else {
        throw CAPIError(status: FG_ERR_OUT_OF_MEMORY, message: "\(rowsName) × \(colsName) = \(rows) × \(cols) elements is too large")
    }
    return n
}

/// Copies `count` floats from caller memory into a tensor, rejecting NaN/±inf with the first bad index.
func copyFiniteTensor(_ pointer: UnsafePointer<Float>, shape: [Int], name: String) throws -> Tensor {
    let t = Tensor(shape: shape, copying: pointer)
    try t.withUnsafeBufferPointer { p in
        for i in 0..<p.count where !p[i].isFinite {
            throw CAPIError(status: FG_ERR_NON_FINITE, message: "\(name)[\(i)] is \(p[i]) (values must be finite)")
        }
    }
    return t
}

/// Reads a path argument.
func pathArgument(_ path: UnsafePointer<CChar>?, name: String = "path") throws -> String {
    guard let path else { throw CAPIError.null(name) }
    guard path.pointee != 0 else { throw CAPIError.invalid("\(name) is empty") }
    // Paths are used as UTF-8 text; other byte sequences would silently name a different file.
    guard let s = String(validatingCString: path) else {
        throw CAPIError.invalid("\(name) is not valid UTF-8 (flowgen accepts UTF-8 paths only)")
    }
    return s
}

/// Writes an output array into a caller buffer following the size-query convention.
func writeOutput(_ values: Tensor, dst: UnsafeMutablePointer<Float>?, dstLength: Int,
                 outLength: UnsafeMutablePointer<Int>?) throws {
    let needed = values.count
    outLength?.pointee = needed
    guard let dst else {
        guard outLength != nil else { throw CAPIError.null("dst and out_len (one is needed)") }
        return
    }
    guard dstLength >= needed, dstLength >= 0 else {
        throw CAPIError(status: FG_ERR_BUFFER_TOO_SMALL, message: "dst holds \(dstLength) floats, \(needed) are needed")
    }
    values.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: needed) }
}

/// Validates a params struct's declared size against the layouts this library knows.
func checkStructSize(_ declared: UInt32, known: [Int], name: String) throws {
    guard known.contains(Int(declared)) else {
        let relation = Int(declared) > (known.max() ?? 0) ? "newer header than this library" : "unknown or older layout"
        throw CAPIError(status: FG_ERR_STRUCT_SIZE,
                        message: "\(name).struct_size is \(declared) (\(relation)); this library understands \(known.map(String.init).joined(separator: ", ")). Start from \(name == "params" ? "fg_*_default_params()" : name)")
    }
}
