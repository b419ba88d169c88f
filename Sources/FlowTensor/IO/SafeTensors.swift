#if canImport(Glibc)
import Glibc
#endif

/// A safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length N, N bytes of JSON header (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}`),
/// then the raw little-endian data. Reading accepts F32, F64, F16, BF16, I64, I32, I16, I8, U64, U32,
/// U16, U8 and BOOL (converted to Float32); writing produces F32.
public struct SafeTensorsFile {
    /// Tensors in header order (reading) or in the order they are written.
    public var tensors: [(name: String, tensor: Tensor)]
    /// String key/value pairs stored under `__metadata__`.
    public var metadata: [String: String]
    /// For a file that was read: each tensor's stored dtype name ("F32", "I64", …) before conversion
    /// to Float32. Loaders that need exact values check it (e.g. checkpoints require "F32").
    public var storedDTypes: [String: String] = [:]

    /// Largest header the loader accepts (100 MB, as the reference implementation).
    public static let maxHeaderSize = 100_000_000

    /// A file with the given tensors and metadata.
    public init(tensors: [(name: String, tensor: Tensor)] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The first tensor called `name`, or nil.
    public func tensor(named name: String) -> Tensor? {
        for entry in tensors where entry.name == name { return entry.tensor }
        return nil
    }

    /// Reads and validates a file. Throws `.io` when it cannot be read, `.corrupt` when it is malformed.
    public static func read(_ path: String) throws -> SafeTensorsFile {
        let bytes = try readFile(path)
        do {
            return try decode(bytes)
        } catch FlowIOError.corrupt(let message) {
            throw FlowIOError.corrupt("\(path): \(message)")
        }
    }

    /// Checks that the file can be written: tensor names non-empty, unique and not `__metadata__`.
    /// Throws `FlowIOError.invalid`.
    public func validate() throws {
        var seen = Set<String>()
        for (name, _) in tensors {
            if name.isEmpty { throw FlowIOError.invalid("safetensors: empty tensor name") }
            if name == "__metadata__" { throw FlowIOError.invalid("safetensors: tensor name '__metadata__' is reserved") }
            if !seen.insert(name).inserted { throw FlowIOError.invalid("safetensors: duplicate tensor name '\(name)'") }
        }
    }

    /// Writes the file atomically (F32 data) after `validate()`.
    public func write(_ path: String) throws {
        try validate()
        try writeFileAtomically(path, bytes: encode())
    }

    /// The file's bytes: F32 tensors in `tensors` order, metadata first (keys sorted), header padded
    /// with spaces to a multiple of 8 bytes. Call `validate()` first: invalid names make a file
    /// that `decode` rejects.
    public func encode() -> [UInt8] {
        var header: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            header.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for (name, tensor) in tensors {
            let size = tensor.count * 4
            header.append((name, .object([
                ("dtype", .string("F32")),
                ("shape", .array(tensor.shape.map { .number(Double($0)) })),
                ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + size))])),
            ])))
            offset += size
        }
        var json = JSONValue.object(header).serializedBytes()
        while json.count % 8 != 0 { json.append(0x20) }
        let total = 8 + json.count + offset
        return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
            let raw = UnsafeMutableRawBufferPointer(out)
            raw.storeBytes(of: UInt64(json.count).littleEndian, toByteOffset: 0, as: UInt64.self)
            json.withUnsafeBytes { raw.baseAddress!.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var at = 8 + json.count
            for (_, tensor) in tensors {
                tensor.withUnsafeBufferPointer { src in
                    let dst = raw.baseAddress!.advanced(by: at)
                    #if _endian(little)
                    if let base = src.baseAddress, src.count > 0 { dst.copyMemory(from: base, byteCount: src.count * 4) }
                    #else
                    for i in 0..<src.count {
                        dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: i &* 4, as: UInt32.self)
                    }
                    #endif
                }
                at += tensor.count * 4
            }
            initialized = total
        }
    }

    /// Decodes and validates a whole file held in memory. Throws `FlowIOError.corrupt` naming the
    /// tensor and field when anything is wrong; never traps on malformed input.
    public static func decode(_ bytes: [UInt8]) throws -> SafeTensorsFile {
        try bytes.withUnsafeBytes { try decode(raw: $0) }
    }

    private struct Entry {
        var name: String
        var dtype: SafeTensorsDType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    private static func corrupt(_ message: String) -> FlowIOError { .corrupt("safetensors: \(message)") }

    private static func decode(raw: UnsafeRawBufferPointer) throws -> SafeTensorsFile {
        guard raw.count >= 8 else {
            throw corrupt("file is \(raw.count) bytes, too short for the 8-byte header length")
        }
        let headerLength = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        if headerLength < 2 { throw corrupt("header length \(headerLength) is smaller than 2") }
        if headerLength > UInt64(maxHeaderSize) {
            throw corrupt("header length \(headerLength) exceeds the \(maxHeaderSize)-byte limit")
        }
        let n = Int(headerLength)
        if n > raw.count - 8 {
            throw corrupt("header length \(n) exceeds the file size \(raw.count) minus 8 (truncated file?)")
        }
        let headerBytes = UnsafeBufferPointer(start: raw.baseAddress!.advanced(by: 8).assumingMemoryBound(to: UInt8.self), count: n)
        let header: JSONValue
        do {
            header = try JSONValue.parse(headerBytes)
        } catch FlowIOError.corrupt(let message) {
            throw corrupt("header is not valid JSON (\(message))")
        }
        guard case .object(let pairs) = header else { throw corrupt("header is not a JSON object") }

        let dataStart = 8 + n
        let dataSize = raw.count - dataStart
        var metadata: [String: String] = [:]
        var sawMetadata = false
        var entries: [Entry] = []
        entries.reserveCapacity(pairs.count)
        var names = Set<String>()

        for (name, value) in pairs {
            if name == "__metadata__" {
                if sawMetadata { throw corrupt("duplicate '__metadata__'") }
                sawMetadata = true
                guard case .object(let items) = value else { throw corrupt("'__metadata__' is not an object") }
                for (key, item) in items {
                    guard case .string(let s) = item else {
                        throw corrupt("'__metadata__' value for key '\(key)' is not a string")
                    }
                    if metadata.updateValue(s, forKey: key) != nil {
                        throw corrupt("duplicate '__metadata__' key '\(key)'")
                    }
                }
                continue
            }
            if name.isEmpty { throw corrupt("empty tensor name") }
            if !names.insert(name).inserted { throw corrupt("duplicate tensor name '\(name)'") }
            entries.append(try parseEntry(name: name, value, dataSize: dataSize))
        }

        // Data regions must be disjoint and cover the buffer exactly (as the reference requires).
        let order = entries.indices.sorted {
            (entries[$0].begin, entries[$0].end) < (entries[$1].begin, entries[$1].end)
        }
        var cursor = 0
        for i in order {
            let e = entries[i]
            if e.begin < cursor {
                throw corrupt("tensor '\(e.name)': data_offsets [\(e.begin), \(e.end)] overlap another tensor's data")
            }
            if e.begin > cursor {
                throw corrupt("tensor '\(e.name)': gap in the data buffer before offset \(e.begin) (previous data ends at \(cursor))")
            }
            cursor = e.end
        }
        if cursor != dataSize {
            throw corrupt("tensors cover \(cursor) bytes of the \(dataSize)-byte data buffer (truncated file or trailing bytes?)")
        }

        let data = raw.baseAddress!.advanced(by: dataStart)
        var tensors: [(name: String, tensor: Tensor)] = []
        tensors.reserveCapacity(entries.count)
        for e in entries {
            var tensor = Tensor(uninitialized: e.shape)
            tensor.withUnsafeMutableBufferPointer { dst in
                convertToFloat(UnsafeRawPointer(data.advanced(by: e.begin)), dtype: e.dtype, into: dst)
            }
            tensors.append((e.name, tensor))
        }
        var file = SafeTensorsFile(tensors: tensors, metadata: metadata)
        for e in entries { file.storedDTypes[e.name] = e.dtype.rawValue }
        return file
    }

    private static func parseEntry(name: String, _ value: JSONValue, dataSize: Int) throws -> Entry {
        guard case .object(let fields) = value else { throw corrupt("tensor '\(name)': entry is not an object") }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (key, v) in fields {
            switch key {
            case "dtype":
                if dtypeValue != nil { throw corrupt("tensor '\(name)': duplicate field 'dtype'") }
                dtypeValue = v
            case "shape":
                if shapeValue != nil { throw corrupt("tensor '\(name)': duplicate field 'shape'") }
                shapeValue = v
            case "data_offsets":
                if offsetsValue != nil { throw corrupt("tensor '\(name)': duplicate field 'data_offsets'") }
                offsetsValue = v
            default:
                throw corrupt("tensor '\(name)': unknown field '\(key)'")
            }
        }
        guard let dtypeValue else { throw corrupt("tensor '\(name)': missing field 'dtype'") }
        guard let shapeValue else { throw corrupt("tensor '\(name)': missing field 'shape'") }
        guard let offsetsValue else { throw corrupt("tensor '\(name)': missing field 'data_offsets'") }

        guard case .string(let dtypeName) = dtypeValue else { throw corrupt("tensor '\(name)': 'dtype' is not a string") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            if SafeTensorsDType.knownUnsupported.contains(dtypeName) {
                throw corrupt("tensor '\(name)': dtype '\(dtypeName)' is not supported by this loader")
            }
            throw corrupt("tensor '\(name)': unknown dtype '\(dtypeName)'")
        }

        guard case .array(let dims) = shapeValue else { throw corrupt("tensor '\(name)': 'shape' is not an array") }
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for (axis, d) in dims.enumerated() {
            guard let extent = d.intValue, extent >= 0 else {
                throw corrupt("tensor '\(name)': shape[\(axis)] = \(d) is not a non-negative integer")
            }
            shape.append(extent)
        }
        guard let count = Shape.checkedElementCount(shape) else {
            throw corrupt("tensor '\(name)': shape \(shape) element count overflows")
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        if overflow { throw corrupt("tensor '\(name)': shape \(shape) byte size overflows") }

        guard case .array(let offsets) = offsetsValue, offsets.count == 2 else {
            throw corrupt("tensor '\(name)': 'data_offsets' is not an array of two integers")
        }
        guard let begin = offsets[0].intValue, begin >= 0, let end = offsets[1].intValue, end >= 0 else {
            throw corrupt("tensor '\(name)': 'data_offsets' \(offsetsValue) are not non-negative integers")
        }
        if begin > end { throw corrupt("tensor '\(name)': data_offsets begin \(begin) > end \(end)") }
        if end > dataSize {
            throw corrupt("tensor '\(name)': data_offsets end \(end) is beyond the \(dataSize)-byte data buffer")
        }
        if end - begin != byteCount {
            throw corrupt("tensor '\(name)': data_offsets span \(end - begin) bytes but \(dtypeName) shape \(shape) needs \(byteCount)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }
}

/// Element types a safetensors file may hold that `SafeTensorsFile` can read.
enum SafeTensorsDType: String {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    static let knownUnsupported: Set<String> = ["F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"]

    var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// IEEE half-precision bits to Float (exact).
@inline(__always) func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        // Zero or subnormal: mantissa * 2^-24.
        let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
        return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
    return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | mantissa << 13)
}

/// Converts `dst.count` little-endian elements of `dtype` at `src` (any alignment) to Float32.
func convertToFloat(_ src: UnsafeRawPointer, dtype: SafeTensorsDType, into dst: UnsafeMutableBufferPointer<Float>) {
    guard let out = dst.baseAddress else { return }
    let n = dst.count
    switch dtype {
    case .f32:
        #if _endian(little)
        UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: n &* 4)
        #else
        for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))) }
        #endif
    case .f64:
        for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)))) }
    case .f16:
        for i in 0..<n { out[i] = halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))) }
    case .bf16:
        for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))) << 16) }
    case .i64:
        for i in 0..<n { out[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: Int64.self))) }
    case .i32:
        for i in 0..<n { out[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: i &* 4, as: Int32.self))) }
    case .i16:
        for i in 0..<n { out[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: Int16.self))) }
    case .i8:
        for i in 0..<n { out[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
    case .u64:
        for i in 0..<n { out[i] = Float(UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))) }
    case .u32:
        for i in 0..<n { out[i] = Float(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))) }
    case .u16:
        for i in 0..<n { out[i] = Float(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))) }
    case .u8:
        for i in 0..<n { out[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
    case .bool:
        for i in 0..<n { out[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
    }
}
