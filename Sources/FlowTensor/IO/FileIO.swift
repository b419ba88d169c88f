#if canImport(Glibc)
import Glibc
#endif

/// Errors thrown by the file readers and writers. Each case carries a human-readable message.
/// - `io`: the operating system refused an open/read/write/rename (message has the path and `strerror`).
/// - `corrupt`: the content is malformed, truncated or uses a feature this loader does not support
///   (message names the field and the problem).
/// - `invalid`: the caller passed arguments that cannot be written or used.
public enum FlowIOError: Error, CustomStringConvertible, Equatable, Sendable {
    case io(String)
    case corrupt(String)
    case invalid(String)

    /// The message without the category prefix.
    public var message: String {
        switch self {
        case .io(let m), .corrupt(let m), .invalid(let m): return m
        }
    }

    public var description: String {
        switch self {
        case .io(let m): return "I/O error: \(m)"
        case .corrupt(let m): return "corrupt file: \(m)"
        case .invalid(let m): return "invalid argument: \(m)"
        }
    }
}

/// Largest file `readFile` accepts (16 GiB).
public let maxReadableFileSize = 16 << 30

@inline(__always) func ioErrorText(_ code: Int32) -> String { String(cString: strerror(code)) }

private let modeTypeMask: UInt32 = 0o170000
private let modeDirectory: UInt32 = 0o040000
private let modeRegular: UInt32 = 0o100000

/// Reads a whole file into memory. Rejects directories and files larger than 16 GiB.
/// Throws `FlowIOError.io` when the file cannot be opened or read.
public func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else {
        let e = errno
        throw FlowIOError.io("cannot open '\(path)' for reading: \(ioErrorText(e))")
    }
    defer { fclose(file) }
    var info = stat()
    if fstat(fileno(file), &info) != 0 {
        let e = errno
        throw FlowIOError.io("cannot stat '\(path)': \(ioErrorText(e))")
    }
    let kind = UInt32(info.st_mode) & modeTypeMask
    if kind == modeDirectory { throw FlowIOError.io("'\(path)' is a directory, not a file") }
    // Devices, FIFOs and sockets can be endless (/dev/zero): only regular files are read.
    if kind != modeRegular { throw FlowIOError.io("'\(path)' is not a regular file") }
    if kind == modeRegular && info.st_size > 0 {
        let size = Int(info.st_size)
        if size > maxReadableFileSize {
            throw FlowIOError.io("'\(path)' is \(size) bytes, larger than the 16 GiB limit")
        }
        var readError: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let n = fread(buffer.baseAddress! + done, 1, size - done, file)
                if n == 0 { readError = ferror(file) != 0 ? errno : -1; break }
                done += n
            }
            initialized = done
        }
        if bytes.count != size {
            let why = readError > 0 ? ioErrorText(readError) : "file shrank while reading"
            throw FlowIOError.io("cannot read '\(path)' (\(bytes.count) of \(size) bytes): \(why)")
        }
        return bytes
    }
    // Pipes, character devices: read in chunks until end of file.
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBufferPointer { fread($0.baseAddress!, 1, $0.count, file) }
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if bytes.count > maxReadableFileSize {
            throw FlowIOError.io("'\(path)' is larger than the 16 GiB limit")
        }
        if n < chunk.count {
            if ferror(file) != 0 {
                let e = errno
                throw FlowIOError.io("cannot read '\(path)': \(ioErrorText(e))")
            }
            return bytes
        }
    }
}

/// Writes `bytes` to `path` atomically: the data goes to `"<path>.tmp-<pid>"`, is flushed and
/// `fsync`ed, then renamed over `path`. On any failure the temporary file is removed and
/// `FlowIOError.io` is thrown; `path` is never left half-written.
public func writeFileAtomically(_ path: String, bytes: [UInt8]) throws {
    if path.isEmpty { throw FlowIOError.invalid("empty file path") }
    let temp = "\(path).tmp-\(getpid())"
    guard let file = fopen(temp, "wb") else {
        let e = errno
        throw FlowIOError.io("cannot create '\(temp)': \(ioErrorText(e))")
    }
    var open = true
    func fail(_ what: String, _ code: Int32) -> FlowIOError {
        if open { fclose(file); open = false }
        unlink(temp)
        return FlowIOError.io("\(what) '\(temp)': \(ioErrorText(code))")
    }
    let written = bytes.withUnsafeBufferPointer { buf -> Int in
        guard let base = buf.baseAddress, buf.count > 0 else { return 0 }
        return fwrite(base, 1, buf.count, file)
    }
    if written != bytes.count { throw fail("cannot write \(bytes.count) bytes to", errno) }
    if fflush(file) != 0 { throw fail("cannot flush", errno) }
    if fsync(fileno(file)) != 0 { throw fail("cannot fsync", errno) }
    open = false
    if fclose(file) != 0 {
        let e = errno
        unlink(temp)
        throw FlowIOError.io("cannot close '\(temp)': \(ioErrorText(e))")
    }
    if rename(temp, path) != 0 {
        let e = errno
        unlink(temp)
        throw FlowIOError.io("cannot rename '\(temp)' to '\(path)': \(ioErrorText(e))")
    }
    // Make the rename durable (best effort: some file systems refuse fsync on directories).
    var directory = "."
    if let slash = path.lastIndex(of: "/") {
        directory = slash == path.startIndex ? "/" : String(path[..<slash])
    }
    let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY)
    if fd >= 0 { _ = fsync(fd); _ = close(fd) }
}
