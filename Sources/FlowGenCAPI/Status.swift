import CFlowGenABI
import CFlowSupport
import FlowGen

/// An error crossing the C boundary: a pinned `fg_status` code and a message for `fg_last_error()`.
struct CAPIError: Error {
    let status: fg_status
    let message: String

    static func null(_ name: String) -> CAPIError { CAPIError(status: FG_ERR_NULL_ARGUMENT, message: "\(name) is NULL") }
    static func invalid(_ message: String) -> CAPIError { CAPIError(status: FG_ERR_INVALID_ARGUMENT, message: message) }
    static func shape(_ message: String) -> CAPIError { CAPIError(status: FG_ERR_SHAPE_MISMATCH, message: message) }
}

/// Stores `message` as this thread's last error.
func setLastError(_ message: String) {
    message.withCString { cflow_set_last_error($0) }
}

/// Runs the body of a C entry point: every error becomes a status plus a message, so no Swift error
/// crosses the ABI.
@inline(__always)
func capiCall(_ function: StaticString, _ body: () throws -> Void) -> fg_status {
    do {
        try body()
        return FG_OK
    } catch let e as CAPIError {
        setLastError("\(function): \(e.message)")
        return e.status
    } catch let e as FlowIOError {
        switch e {
        case .io(let m): setLastError("\(function): \(m)"); return FG_ERR_IO
        case .corrupt(let m): setLastError("\(function): \(m)"); return FG_ERR_CORRUPT_FILE
        case .invalid(let m): setLastError("\(function): \(m)"); return FG_ERR_INVALID_ARGUMENT
        }
    } catch let e as TrainingError {
        setLastError("\(function): \(e)")
        switch e {
        case .cancelled: return FG_ERR_CANCELLED
        case .numerical: return FG_ERR_NUMERICAL
        }
    } catch {
        setLastError("\(function): internal error: \(error)")
        return FG_ERR_INTERNAL
    }
}

/// A C string pointer for a static Swift string literal (literals are NUL-terminated and immortal).
func staticCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
