import CFlowGenABI
import CFlowSupport
import FlowGen

/// The version this library was built as (keep in step with include/flowgen.h).
let libraryVersion: StaticString = "0.1.0"

@_cdecl("fg_last_error")
public func fg_last_error() -> UnsafePointer<CChar> { cflow_last_error() }

@_cdecl("fg_status_str")
public func fg_status_str(_ status: fg_status) -> UnsafePointer<CChar> {
    switch status {
    case FG_OK: return staticCString("FG_OK")
    case FG_ERR_NULL_ARGUMENT: return staticCString("FG_ERR_NULL_ARGUMENT")
    case FG_ERR_INVALID_ARGUMENT: return staticCString("FG_ERR_INVALID_ARGUMENT")
    case FG_ERR_SHAPE_MISMATCH: return staticCString("FG_ERR_SHAPE_MISMATCH")
    case FG_ERR_BUFFER_TOO_SMALL: return staticCString("FG_ERR_BUFFER_TOO_SMALL")
    case FG_ERR_NON_FINITE: return staticCString("FG_ERR_NON_FINITE")
    case FG_ERR_OUT_OF_RANGE: return staticCString("FG_ERR_OUT_OF_RANGE")
    case FG_ERR_UNKNOWN_ENUM: return staticCString("FG_ERR_UNKNOWN_ENUM")
    case FG_ERR_STRUCT_SIZE: return staticCString("FG_ERR_STRUCT_SIZE")
    case FG_ERR_IO: return staticCString("FG_ERR_IO")
    case FG_ERR_CORRUPT_FILE: return staticCString("FG_ERR_CORRUPT_FILE")
    case FG_ERR_CALLBACK: return staticCString("FG_ERR_CALLBACK")
    case FG_ERR_CANCELLED: return staticCString("FG_ERR_CANCELLED")
    case FG_ERR_OUT_OF_MEMORY: return staticCString("FG_ERR_OUT_OF_MEMORY")
    case FG_ERR_NUMERICAL: return staticCString("FG_ERR_NUMERICAL")
    case FG_ERR_INTERNAL: return staticCString("FG_ERR_INTERNAL")
    default: return staticCString("FG_ERR_UNKNOWN_STATUS")
    }
}

@_cdecl("fg_version_string")
public func fg_version_string() -> UnsafePointer<CChar> { staticCString(libraryVersion) }

@_cdecl("fg_version_number")
public func fg_version_number() -> UInt32 { UInt32(FLOWGEN_VERSION_MAJOR * 10000 + FLOWGEN_VERSION_MINOR * 100 + FLOWGEN_VERSION_PATCH) }

@_cdecl("fg_set_num_threads")
public func fg_set_num_threads(_ numThreads: Int32) -> fg_status {
    capiCall("fg_set_num_threads") {
        guard numThreads >= 1 && numThreads <= 1024 else {
            throw CAPIError.invalid("num_threads must be in 1…1024, got \(numThreads)")
        }
        BLAS.setThreadCount(Int(numThreads))
    }
}

@_cdecl("fg_get_num_threads")
public func fg_get_num_threads() -> Int32 { Int32(BLAS.threadCount) }

@_cdecl("fg_blas_core_name")
public func fg_blas_core_name() -> UnsafePointer<CChar> { BLAS.coreNameCString }
