#if canImport(Glibc)
import Glibc
#endif

// NumPy `.npy` files (format versions 1.0, 2.0, 3.0): the magic "\x93NUMPY", two version bytes, a
// little-endian header length (u16 for 1.0, u32 for 2.0/3.0), a Python dict literal
// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, then the C-order data.

/// Element types read from `.npy` files (little-endian or byte-order-free only).
enum NpyDType {
    case f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1

    init?(descr: String) {
        switch descr {
        case "<f2", "=f2": self = .f2
        case "<f4", "=f4": self = .f4
        case "<f8", "=f8": self = .f8
        case "|i1", "<i1", "=i1": self = .i1
        case "<i2", "=i2": self = .i2
        case "<i4", "=i4": self = .i4
        case "<i8", "=i8": self = .i8
        case "|u1", "<u1", "=u1": self = .u1
        case "<u2", "=u2": self = .u2
        case "<u4", "=u4": self = .u4
        case "<u8", "=u8": self = .u8
        case "|b1", "<b1", "=b1": self = .b1
        default: return nil
        }
    }

    var size: Int {
        switch self {
        case .i1, .u1, .b1: return 1
        case .f2, .i2, .u2: return 2
        case .f4, .i4, .u4: return 4
        case .f8, .i8, .u8: return 8
        }
    }

    var isInteger: Bool {
        switch self {
        case .f2, .f4, .f8: return false
        default: return true
        }
    }
}

/// A validated `.npy` file: shape, element type and where the data starts.
struct NpyHeader {
    var shape: [Int]
    var dtype: NpyDType
    var dataOffset: Int
    var count: Int

    static func corrupt(_ message: String) -> FlowIOError { .corrupt("npy: \(message)") }

    /// Parses and validates the header of a whole file held in `raw`, including the data length.
    static func parse(_ raw: UnsafeRawBufferPointer) throws -> NpyHeader {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard raw.count >= 10 else { throw corrupt("file is \(raw.count) bytes, too short for the header") }
        for i in 0..<6 where raw[i] != magic[i] { throw corrupt("missing the \\x93NUMPY magic string") }
        let major = raw[6], minor = raw[7]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
            headerStart = 10
        case 2, 3:
            guard raw.count >= 12 else { throw corrupt("file is \(raw.count) bytes, too short for a version \(major) header") }
            headerLength = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            headerStart = 12
        default:
            throw corrupt("unsupported format version \(major).\(minor)")
        }
        if minor != 0 { throw corrupt("unsupported format version \(major).\(minor)") }
        guard headerLength <= raw.count - headerStart else {
            throw corrupt("header length \(headerLength) exceeds the file size \(raw.count) (truncated file?)")
        }
        let text = UnsafeBufferPointer(start: raw.baseAddress!.advanced(by: headerStart).assumingMemoryBound(to: UInt8.self),
                                       count: headerLength)
        var parser = NpyDictParser(bytes: text)
        let dict = try parser.parse()

        guard let descr = dict.descr else { throw corrupt("header has no 'descr'") }
        guard let fortran = dict.fortranOrder else { throw corrupt("header has no 'fortran_order'") }
        guard let shape = dict.shape else { throw corrupt("header has no 'shape'") }
        if fortran {
            throw corrupt("fortran_order is True: Fortran-ordered arrays are not supported (save a C-contiguous array, e.g. np.ascontiguousarray)")
        }
        guard let dtype = NpyDType(descr: descr) else {
            if descr.hasPrefix(">") {
                throw corrupt("descr '\(descr)' is big-endian: only little-endian data is supported")
            }
            throw corrupt("unsupported descr '\(descr)' (supported: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1)")
        }
        guard let count = Shape.checkedElementCount(shape) else {
            throw corrupt("shape \(shape) element count overflows")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        let dataOffset = headerStart + headerLength
        let available = raw.count - dataOffset
        if overflow || bytes != available {
            throw corrupt("shape \(shape) of '\(descr)' needs \(overflow ? "too many" : String(bytes)) data bytes but the file has \(available)")
        }
        return NpyHeader(shape: shape, dtype: dtype, dataOffset: dataOffset, count: count)
    }
}

/// Parser for the Python dict literal of an `.npy` header.
struct NpyDictParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0
    var descr: String?
    var fortranOrder: Bool?
    var shape: [Int]?

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ what: String) -> FlowIOError { .corrupt("npy: header dict: \(what) at header byte \(pos)") }

    mutating func skipSpace() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x09 || bytes[pos] == 0x0D { pos += 1 }
    }

    mutating func take(_ c: UInt8) -> Bool {
        skipSpace()
        if pos < bytes.count && bytes[pos] == c { pos += 1; return true }
        return false
    }

    mutating func parseString() throws -> String {
        skipSpace()
        guard pos < bytes.count, bytes[pos] == UInt8(ascii: "'") || bytes[pos] == UInt8(ascii: "\"") else {
            throw error("expected a quoted string")
        }
        let quote = bytes[pos]
        pos += 1
        let start = pos
        while pos < bytes.count && bytes[pos] != quote {
            if bytes[pos] == UInt8(ascii: "\\") || bytes[pos] < 0x20 || bytes[pos] >= 0x80 { throw error("unsupported character in string") }
            pos += 1
        }
        guard pos < bytes.count else { throw error("unterminated string") }
        let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        pos += 1
        return s
    }

    mutating func parseWord() -> String {
        skipSpace()
        let start = pos
        while pos < bytes.count, (bytes[pos] >= UInt8(ascii: "A") && bytes[pos] <= UInt8(ascii: "Z")) ||
                (bytes[pos] >= UInt8(ascii: "a") && bytes[pos] <= UInt8(ascii: "z")) { pos += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
    }

    mutating func parseInt() throws -> Int {
        skipSpace()
        var value = 0
        let start = pos
        while pos < bytes.count && bytes[pos] >= UInt8(ascii: "0") && bytes[pos] <= UInt8(ascii: "9") {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(bytes[pos] - UInt8(ascii: "0")))
            if o1 || o2 { throw error("shape extent overflows") }
            value = a
            pos += 1
        }
        if pos == start { throw error("expected a non-negative integer in 'shape'") }
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "L") { pos += 1 }  // Python 2 long suffix
        return value
    }

    mutating func parseTuple() throws -> [Int] {
        guard take(UInt8(ascii: "(")) else { throw error("'shape' is not a tuple") }
        var dims: [Int] = []
        if take(UInt8(ascii: ")")) { return dims }
        while true {
            dims.append(try parseInt())
            if take(UInt8(ascii: ")")) {
                if dims.count == 1 { throw error("'shape' (n) is not a tuple (needs a trailing comma)") }
                return dims
            }
            guard take(UInt8(ascii: ",")) else { throw error("expected ',' or ')' in 'shape'") }
            if take(UInt8(ascii: ")")) { return dims }
            if dims.count > 64 { throw error("'shape' has more than 64 dimensions") }
        }
    }

    mutating func parse() throws -> NpyDictParser {
        guard take(UInt8(ascii: "{")) else { throw error("expected '{'") }
        var closed = take(UInt8(ascii: "}"))
        while !closed {
            let key = try parseString()
            guard take(UInt8(ascii: ":")) else { throw error("expected ':'") }
            switch key {
            case "descr":
                if descr != nil { throw error("duplicate key 'descr'") }
                descr = try parseString()
            case "fortran_order":
                if fortranOrder != nil { throw error("duplicate key 'fortran_order'") }
                switch parseWord() {
                case "True": fortranOrder = true
                case "False": fortranOrder = false
                default: throw error("'fortran_order' is not True or False")
                }
            case "shape":
                if shape != nil { throw error("duplicate key 'shape'") }
                shape = try parseTuple()
            default:
                throw error("unexpected key '\(key)'")
            }
            if take(UInt8(ascii: "}")) { closed = true; break }
            guard take(UInt8(ascii: ",")) else { throw error("expected ',' or '}'") }
            closed = take(UInt8(ascii: "}"))
        }
        skipSpace()
        if pos != bytes.count { throw error("unexpected data after the dict") }
        return self
    }
}

/// Decodes a whole `.npy` file held in memory as a Float32 tensor. Accepts float ('<f2', '<f4',
/// '<f8'), integer ('|i1' '<i2' '<i4' '<i8' '|u1' '<u2' '<u4' '<u8') and boolean ('|b1') data,
/// converted to Float32. Throws `FlowIOError.corrupt` for malformed or unsupported files
/// (Fortran order, big-endian, other dtypes).
public func decodeNpy(_ bytes: [UInt8]) throws -> Tensor {
    try bytes.withUnsafeBytes { raw in
        let h = try NpyHeader.parse(raw)
        var tensor = Tensor(uninitialized: h.shape)
        tensor.withUnsafeMutableBufferPointer { dst in
            let src = raw.baseAddress!.advanced(by: h.dataOffset)
            switch h.dtype {
            case .f2: convertToFloat(src, dtype: .f16, into: dst)
            case .f4: convertToFloat(src, dtype: .f32, into: dst)
            case .f8: convertToFloat(src, dtype: .f64, into: dst)
            case .i1: convertToFloat(src, dtype: .i8, into: dst)
            case .i2: convertToFloat(src, dtype: .i16, into: dst)
            case .i4: convertToFloat(src, dtype: .i32, into: dst)
            case .i8: convertToFloat(src, dtype: .i64, into: dst)
            case .u1: convertToFloat(src, dtype: .u8, into: dst)
            case .u2: convertToFloat(src, dtype: .u16, into: dst)
            case .u4: convertToFloat(src, dtype: .u32, into: dst)
            case .u8: convertToFloat(src, dtype: .u64, into: dst)
            case .b1: convertToFloat(src, dtype: .bool, into: dst)
            }
        }
        return tensor
    }
}

/// Reads a `.npy` file as a Float32 tensor (see `decodeNpy`).
public func readNpy(_ path: String) throws -> Tensor {
    let bytes = try readFile(path)
    do { return try decodeNpy(bytes) } catch FlowIOError.corrupt(let m) { throw FlowIOError.corrupt("\(path): \(m)") }
}

/// Decodes a whole integer `.npy` file ('|i1' '<i2' '<i4' '<i8' '|u1' '<u2' '<u4' '<u8' '|b1') held
/// in memory. Float data and '<u8' values above `Int.max` are rejected with `FlowIOError.corrupt`.
public func decodeNpyInt(_ bytes: [UInt8]) throws -> (shape: [Int], values: [Int]) {
    try bytes.withUnsafeBytes { raw in
        let h = try NpyHeader.parse(raw)
        guard h.dtype.isInteger else {
            throw NpyHeader.corrupt("integer data expected, found a floating-point descr")
        }
        let src = raw.baseAddress!.advanced(by: h.dataOffset)
        let n = h.count
        var tooLarge = false
        let values = [Int](unsafeUninitializedCapacity: n) { out, initialized in
            guard let p = out.baseAddress else { initialized = 0; return }
            switch h.dtype {
            case .i1: for i in 0..<n { p[i] = Int(src.load(fromByteOffset: i, as: Int8.self)) }
            case .u1: for i in 0..<n { p[i] = Int(src.load(fromByteOffset: i, as: UInt8.self)) }
            case .b1: for i in 0..<n { p[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
            case .i2: for i in 0..<n { p[i] = Int(Int16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: Int16.self))) }
            case .u2: for i in 0..<n { p[i] = Int(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))) }
            case .i4: for i in 0..<n { p[i] = Int(Int32(littleEndian: src.loadUnaligned(fromByteOffset: i &* 4, as: Int32.self))) }
            case .u4: for i in 0..<n { p[i] = Int(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))) }
            case .i8: for i in 0..<n { p[i] = Int(Int64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: Int64.self))) }
            case .u8:
                for i in 0..<n {
                    let v = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
                    if v > UInt64(Int.max) { tooLarge = true; p[i] = 0 } else { p[i] = Int(v) }
                }
            case .f2, .f4, .f8: for i in 0..<n { p[i] = 0 }
            }
            initialized = n
        }
        if tooLarge { throw NpyHeader.corrupt("'<u8' value larger than Int.max") }
        return (h.shape, values)
    }
}

/// Reads an integer `.npy` file (see `decodeNpyInt`).
public func readNpyInt(_ path: String) throws -> (shape: [Int], values: [Int]) {
    let bytes = try readFile(path)
    do { return try decodeNpyInt(bytes) } catch FlowIOError.corrupt(let m) { throw FlowIOError.corrupt("\(path): \(m)") }
}

/// Builds a `.npy` file: version 1.0 (2.0 if the header exceeds 65535 bytes), header padded with
/// spaces and a newline so the data starts on a 64-byte boundary.
private func npyFile(descr: String, shape: [Int], dataBytes: Int, fill: (UnsafeMutableRawPointer) -> Void) -> [UInt8] {
    let dims: String
    switch shape.count {
    case 0: dims = "()"
    case 1: dims = "(\(shape[0]),)"
    default: dims = "(" + shape.map { String($0) }.joined(separator: ", ") + ")"
    }
    var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }".utf8)
    var prefix = 10
    if (header.count + 1 + prefix + 63) / 64 * 64 - prefix > 65535 { prefix = 12 }
    let padded = (prefix + header.count + 1 + 63) / 64 * 64 - prefix
    while header.count < padded - 1 { header.append(0x20) }
    header.append(0x0A)
    let total = prefix + header.count + dataBytes
    return [UInt8](unsafeUninitializedCapacity: total) { out, initialized in
        let raw = UnsafeMutableRawBufferPointer(out)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        for i in 0..<6 { raw[i] = magic[i] }
        raw[6] = prefix == 10 ? 1 : 2
        raw[7] = 0
        if prefix == 10 {
            raw.storeBytes(of: UInt16(header.count).littleEndian, toByteOffset: 8, as: UInt16.self)
        } else {
            raw.storeBytes(of: UInt32(header.count).littleEndian, toByteOffset: 8, as: UInt32.self)
        }
        header.withUnsafeBytes { raw.baseAddress!.advanced(by: prefix).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        fill(raw.baseAddress!.advanced(by: prefix + header.count))
        initialized = total
    }
}

/// The `.npy` bytes ('<f4', C order) of a Float32 tensor.
public func encodeNpy(_ tensor: Tensor) -> [UInt8] {
    npyFile(descr: "<f4", shape: tensor.shape, dataBytes: tensor.count * 4) { dst in
        tensor.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress, src.count > 0 else { return }
            #if _endian(little)
            dst.copyMemory(from: base, byteCount: src.count * 4)
            #else
            for i in 0..<src.count { dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: i &* 4, as: UInt32.self) }
            #endif
        }
    }
}

/// Writes a Float32 tensor as a `.npy` file ('<f4') atomically.
public func writeNpy(_ tensor: Tensor, to path: String) throws {
    try writeFileAtomically(path, bytes: encodeNpy(tensor))
}

/// The `.npy` bytes ('<i4', C order) of an Int32 array. Throws `FlowIOError.invalid` when the shape
/// is invalid or its element count differs from `values.count`.
public func encodeNpyInt32(shape: [Int], values: [Int32]) throws -> [UInt8] {
    guard let count = Shape.checkedElementCount(shape), count == values.count else {
        throw FlowIOError.invalid("npy: shape \(shape) does not match \(values.count) values")
    }
    return npyFile(descr: "<i4", shape: shape, dataBytes: count * 4) { dst in
        values.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress, src.count > 0 else { return }
            #if _endian(little)
            dst.copyMemory(from: base, byteCount: src.count * 4)
            #else
            for i in 0..<src.count { dst.storeBytes(of: src[i].littleEndian, toByteOffset: i &* 4, as: Int32.self) }
            #endif
        }
    }
}

/// Writes an Int32 array as a `.npy` file ('<i4') atomically.
public func writeNpyInt32(shape: [Int], values: [Int32], to path: String) throws {
    try writeFileAtomically(path, bytes: encodeNpyInt32(shape: shape, values: values))
}
