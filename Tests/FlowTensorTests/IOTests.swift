import XCTest
import FlowTensor
#if canImport(Glibc)
import Glibc
#endif

final class IOTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/flowgen-iotests-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(made)
        directory = String(cString: template.map { UInt8(bitPattern: $0) } + [0])
    }

    override func tearDownWithError() throws {
        for name in listDirectory(directory) { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    // MARK: Helpers

    func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Asserts `body` throws `FlowIOError.corrupt` (and returns its message).
    @discardableResult
    func assertCorrupt(_ label: String, file: StaticString = #filePath, line: UInt = #line,
                       _ body: () throws -> Void) -> String {
        do {
            try body()
            XCTFail("\(label): expected .corrupt, nothing thrown", file: file, line: line)
        } catch let FlowIOError.corrupt(message) {
            XCTAssertFalse(message.isEmpty, file: file, line: line)
            return message
        } catch {
            XCTFail("\(label): expected .corrupt, got \(error)", file: file, line: line)
        }
        return ""
    }

    func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
    func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func f32Bytes(_ xs: [Float]) -> [UInt8] { xs.flatMap { le32($0.bitPattern) } }

    /// A safetensors file built from a header string and raw data.
    func safetensors(_ header: String, data: [UInt8]) -> [UInt8] {
        let h = Array(header.utf8)
        return le64(UInt64(h.count)) + h + data
    }

    // MARK: JSON

    func testJSONRoundTrip() throws {
        let value: JSONValue = [
            "z": 1, "a": [true, false, nil, 0.5, -3, 1e300, .number(.leastNonzeroMagnitude), "x\"\\/\n\t\u{1}é😀"],
            "nested": ["k": [[], [:]]], "big": 9007199254740993.0, "neg": -0.25,
        ]
        let text = value.serialized()
        XCTAssertTrue(text.hasPrefix("{\"z\":1,\"a\":[true,false,null,0.5,-3,1e+300,5e-324,"), text)
        XCTAssertTrue(text.contains("\\u0001"))
        XCTAssertEqual(try JSONValue(parsing: text), value)
        XCTAssertEqual(try JSONValue(parsing: Array(text.utf8)), value)

        XCTAssertEqual(JSONValue.number(1.0).serialized(), "1")
        XCTAssertEqual(JSONValue.number(-42).serialized(), "-42")
        XCTAssertEqual(JSONValue.number(0.1).serialized(), "0.1")
        XCTAssertEqual(JSONValue.number(9007199254740992).serialized(), "9007199254740992.0")
        XCTAssertEqual(JSONValue.number(.nan).serialized(), "null")

        let parsed = try JSONValue(parsing: #" { "s" : "\u00e9\uD83D\uDE00\"\\\/\b\f\n\r\t" , "n" : [ -0 , 1E2 , 2.5e-3 , 1e-400 ] } "#)
        XCTAssertEqual(parsed["s"]?.stringValue, "é😀\"\\/\u{8}\u{c}\n\r\t")
        XCTAssertEqual(parsed["n"]?[1]?.intValue, 100)
        XCTAssertEqual(parsed["n"]?[2]?.doubleValue, 0.0025)
        XCTAssertEqual(parsed["n"]?[3]?.doubleValue, 0)
        XCTAssertNil(parsed["missing"])
        XCTAssertEqual(try JSONValue(parsing: "{\"b\":1,\"a\":2}").objectValue?.map { $0.0 }, ["b", "a"])

        let deep64 = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try JSONValue(parsing: deep64))
    }

    func testJSONRejectsMalformed() {
        let bad: [String] = [
            "", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":}", "[1 2]",
            "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1e400", "-1e400", "NaN", "Infinity",
            "tru", "nul", "falsey", "'a'", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\uZZZZ\"", "\"\u{1}\"", "\"a\nb\"",
            "\"\\uD800\"", "\"\\uDC00\"", "\"\\uD800\\u0041\"", "[1] x", "{} {}", "\u{FEFF}{}",
            String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
            String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65),
        ]
        for text in bad {
            let message = assertCorrupt("JSON \(text.debugDescription)") { _ = try JSONValue(parsing: text) }
            XCTAssertTrue(message.contains("offset"), message)
        }
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82]] {
            assertCorrupt("invalid UTF-8 \(bytes)") { _ = try JSONValue(parsing: bytes) }
        }
        assertCorrupt("offset") {
            do { _ = try JSONValue(parsing: "[1, 2, x]") } catch let FlowIOError.corrupt(m) {
                XCTAssertTrue(m.contains("offset 7"), m); throw FlowIOError.corrupt(m)
            }
        }
    }

    // MARK: File IO

    func testAtomicWriteAndRead() throws {
        let path = directory + "/data.bin"
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try writeFileAtomically(path, bytes: bytes)
        XCTAssertEqual(try readFile(path), bytes)
        try writeFileAtomically(path, bytes: [1, 2, 3])
        XCTAssertEqual(try readFile(path), [1, 2, 3])
        try writeFileAtomically(path, bytes: [])
        XCTAssertEqual(try readFile(path), [])
        XCTAssertEqual(listDirectory(directory), ["data.bin"])  // no temp files left

        let missingDir = directory + "/no-such-dir"
        XCTAssertThrowsError(try writeFileAtomically(missingDir + "/x.bin", bytes: [1])) { error in
            guard case FlowIOError.io(let m) = error else { return XCTFail("expected .io, got \(error)") }
            XCTAssertTrue(m.contains("no-such-dir") && m.contains("No such file"), m)
        }
        XCTAssertFalse(exists(missingDir))
        XCTAssertEqual(listDirectory(directory), ["data.bin"])

        // Renaming over a directory fails after the temp file was written: the temp file is removed.
        let dirTarget = directory + "/sub"
        XCTAssertEqual(mkdir(dirTarget, 0o755), 0)
        XCTAssertEqual(mkdir(dirTarget + "/inner", 0o755), 0)
        XCTAssertThrowsError(try writeFileAtomically(dirTarget, bytes: [1, 2])) { error in
            guard case FlowIOError.io = error else { return XCTFail("expected .io, got \(error)") }
        }
        XCTAssertEqual(listDirectory(directory), ["data.bin", "sub"])
        rmdir(dirTarget + "/inner"); rmdir(dirTarget)

        XCTAssertThrowsError(try readFile(directory)) { error in
            guard case FlowIOError.io(let m) = error else { return XCTFail("expected .io, got \(error)") }
            XCTAssertTrue(m.contains("directory"), m)
        }
        XCTAssertThrowsError(try readFile(directory + "/missing")) { error in
            guard case FlowIOError.io(let m) = error else { return XCTFail("expected .io, got \(error)") }
            XCTAssertTrue(m.contains("missing") && m.contains("No such file"), m)
        }
    }

    // MARK: safetensors

    func sampleFile() -> SafeTensorsFile {
        SafeTensorsFile(tensors: [
            ("weight", Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .infinity, -0.0, 1e-30])),
            ("bias", Tensor(shape: [3], scalars: [0.25, 0.5, 0.75])),
            ("step", Tensor(7)),
            ("empty", Tensor(zeros: [0, 4])),
        ], metadata: ["format": "pt", "config": "{\"hidden\": 256}", "note": "é \"quoted\"\n"])
    }

    func testSafeTensorsRoundTrip() throws {
        let file = sampleFile()
        let path = directory + "/model.safetensors"
        try file.write(path)
        let bytes = try readFile(path)
        XCTAssertEqual(bytes, file.encode())
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(bytes[8 + headerLength - 1], bytes[8 + headerLength - 1] == 0x20 ? 0x20 : UInt8(ascii: "}"))

        let back = try SafeTensorsFile.read(path)
        XCTAssertEqual(back.metadata, file.metadata)
        XCTAssertEqual(back.tensors.map { $0.name }, ["weight", "bias", "step", "empty"])
        for (name, tensor) in file.tensors {
            let t = try XCTUnwrap(back.tensor(named: name))
            XCTAssertEqual(t.shape, tensor.shape)
            XCTAssertEqual(t.scalars.map { $0.bitPattern }, tensor.scalars.map { $0.bitPattern }, name)
        }
        XCTAssertNil(back.tensor(named: "nope"))

        let empty = try SafeTensorsFile.decode(SafeTensorsFile().encode())
        XCTAssertTrue(empty.tensors.isEmpty && empty.metadata.isEmpty)

        XCTAssertThrowsError(try SafeTensorsFile(tensors: [("a", Tensor(1)), ("a", Tensor(2))]).write(path)) { error in
            guard case FlowIOError.invalid = error else { return XCTFail("expected .invalid, got \(error)") }
        }
        XCTAssertThrowsError(try SafeTensorsFile(tensors: [("", Tensor(1))]).write(path))
        XCTAssertThrowsError(try SafeTensorsFile.read(directory + "/missing.safetensors")) { error in
            guard case FlowIOError.io = error else { return XCTFail("expected .io, got \(error)") }
        }
    }

    func testSafeTensorsGoldenBytes() throws {
        // Written by hand from the format description; "b" comes first in the data but second in the header.
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"# +
            #""b":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}"#
        let data: [UInt8] = [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0,   // b: 1.0, -2.5
                             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x7F]   // a: 0.0, NaN
        let file = try SafeTensorsFile.decode(safetensors(header, data: data))
        XCTAssertEqual(file.metadata, ["k": "v"])
        XCTAssertEqual(file.tensors.map { $0.name }, ["a", "b"])
        XCTAssertEqual(file.tensor(named: "b")?.shape, [1, 2])
        XCTAssertEqual(file.tensor(named: "b")?.scalars, [1.0, -2.5])
        let a = try XCTUnwrap(file.tensor(named: "a"))
        XCTAssertEqual(a.shape, [2]); XCTAssertEqual(a[flat: 0], 0); XCTAssertTrue(a[flat: 1].isNaN)

        // Other dtypes converted to Float32.
        let mixedHeader = #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"# +
            #""h":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},"# +
            #""bf":{"dtype":"BF16","shape":[1],"data_offsets":[22,24]},"# +
            #""i":{"dtype":"I64","shape":[1],"data_offsets":[24,32]},"# +
            #""j":{"dtype":"I32","shape":[1],"data_offsets":[32,36]},"# +
            #""u":{"dtype":"U8","shape":[2],"data_offsets":[36,38]},"# +
            #""z":{"dtype":"BOOL","shape":[2],"data_offsets":[38,40]}}"#
        var mixed = le64(0.1.bitPattern) + le64((-3.0).bitPattern)
        mixed += le16(0x3C00) + le16(0xC000) + le16(0x0001)   // 1.0, -2.0, smallest subnormal
        mixed += le16(0x4049)                                 // bf16 3.140625
        mixed += le64(UInt64(bitPattern: -5)) + le32(UInt32(bitPattern: 123_456))
        mixed += [200, 7, 0, 1]
        let m = try SafeTensorsFile.decode(safetensors(mixedHeader, data: mixed))
        XCTAssertEqual(m.tensor(named: "d")?.scalars, [Float(0.1), -3])
        XCTAssertEqual(m.tensor(named: "h")?.scalars, [1, -2, Float(bitPattern: 0x3380_0000)])
        XCTAssertEqual(m.tensor(named: "bf")?.scalars, [3.140625])
        XCTAssertEqual(m.tensor(named: "i")?.scalars, [-5])
        XCTAssertEqual(m.tensor(named: "j")?.scalars, [123_456])
        XCTAssertEqual(m.tensor(named: "u")?.scalars, [200, 7])
        XCTAssertEqual(m.tensor(named: "z")?.scalars, [0, 1])

        // Our own encoding of a one-tensor file, byte for byte.
        let encoded = SafeTensorsFile(tensors: [("x", Tensor(shape: [1], scalars: [1]))]).encode()
        let expectedHeader = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#  // 54 bytes → pad to 56
        XCTAssertEqual(encoded, le64(56) + Array(expectedHeader.utf8) + [0x20, 0x20] + [0x00, 0x00, 0x80, 0x3F])
    }

    func testSafeTensorsTruncationNeverTraps() throws {
        let bytes = SafeTensorsFile(tensors: [("a", Tensor(shape: [2], scalars: [1, 2])), ("b", Tensor(3))],
                                    metadata: ["m": "v"]).encode()
        XCTAssertNoThrow(try SafeTensorsFile.decode(bytes))
        for length in 0..<bytes.count {
            assertCorrupt("truncated to \(length)") { _ = try SafeTensorsFile.decode(Array(bytes[0..<length])) }
        }
        assertCorrupt("trailing byte") { _ = try SafeTensorsFile.decode(bytes + [0]) }
        // Every single-byte corruption either decodes or throws .corrupt; it never traps.
        for i in 0..<bytes.count {
            for v: UInt8 in [0x00, 0x20, 0x22, 0x5B, 0x7B, 0x7D, 0xFF] {
                var b = bytes; b[i] = v
                do { _ = try SafeTensorsFile.decode(b) } catch FlowIOError.corrupt { } catch { XCTFail("\(error)") }
            }
        }
    }

    func testSafeTensorsRejectsMalformed() {
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let data8 = f32Bytes([1, 2])
        XCTAssertNoThrow(try SafeTensorsFile.decode(safetensors(ok, data: data8)))

        // Header length field.
        assertCorrupt("header length 0") { _ = try SafeTensorsFile.decode(self.le64(0) + Array("{}".utf8)) }
        assertCorrupt("header length 1") { _ = try SafeTensorsFile.decode(self.le64(1) + Array("{}".utf8)) }
        assertCorrupt("header length > file") { _ = try SafeTensorsFile.decode(self.le64(3) + Array("{}".utf8)) }
        assertCorrupt("header length 2^64-1") { _ = try SafeTensorsFile.decode(self.le64(.max) + Array("{}".utf8)) }
        assertCorrupt("header length > 100MB") {
            _ = try SafeTensorsFile.decode(self.le64(100_000_001) + Array("{}".utf8))
        }
        let message = assertCorrupt("header length 2^63") { _ = try SafeTensorsFile.decode(self.le64(1 << 63) + Array("{}".utf8)) }
        XCTAssertTrue(message.contains("header length"), message)

        let cases: [(String, String, [UInt8])] = [
            ("header not JSON", "{not json}", []),
            ("header JSON array", "[1, 2]", []),
            ("header JSON string", "\"abc\"", []),
            ("trailing garbage", ok + "x", data8),
            ("entry not object", #"{"a":[1]}"#, []),
            ("unknown dtype", #"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, data8),
            ("unsupported dtype", #"{"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}"#, data8),
            ("dtype not string", #"{"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}"#, data8),
            ("missing dtype", #"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, data8),
            ("missing shape", #"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, data8),
            ("missing offsets", #"{"a":{"dtype":"F32","shape":[2]}}"#, data8),
            ("unknown field", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#, data8),
            ("duplicate field", #"{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data8),
            ("negative shape", #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data8),
            ("fractional shape", #"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data8),
            ("huge shape", #"{"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,8]}}"#, data8),
            ("string shape", #"{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}"#, data8),
            ("shape not array", #"{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}"#, data8),
            ("overflowing shape", #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#, data8),
            ("overflowing bytes", #"{"a":{"dtype":"F32","shape":[4611686018427387,1000,2],"data_offsets":[0,8]}}"#, data8),
            ("offsets out of bounds", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data8),
            ("offsets wrong size", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data8),
            ("offsets reversed", #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data8),
            ("offsets negative", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data8),
            ("offsets three", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}"#, data8),
            ("offsets one", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}}"#, data8),
            ("offsets strings", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":["0","8"]}}"#, data8),
            ("offsets overlapping", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data8),
            ("offsets gap", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, f32Bytes([1, 2, 3])),
            ("leading gap", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data8),
            ("data not covered", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data8),
            ("duplicate tensor", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data8),
            ("empty name", #"{"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data8),
            ("metadata not object", #"{"__metadata__":"x"}"#, []),
            ("metadata value number", #"{"__metadata__":{"k":1}}"#, []),
            ("metadata value null", #"{"__metadata__":{"k":null}}"#, []),
            ("duplicate metadata key", #"{"__metadata__":{"k":"a","k":"b"}}"#, []),
            ("duplicate metadata", #"{"__metadata__":{},"__metadata__":{}}"#, []),
        ]
        for (label, header, data) in cases {
            let message = assertCorrupt(label) { _ = try SafeTensorsFile.decode(self.safetensors(header, data: data)) }
            if !label.contains("JSON") && label != "trailing garbage" {
                XCTAssertTrue(["'a'", "'b'", "cover", "__metadata__", "name"].contains { message.contains($0) }, "\(label): \(message)")
            }
        }
        let path = directory + "/bad.safetensors"
        try? writeFileAtomically(path, bytes: safetensors(#"{"a":{"dtype":"X","shape":[],"data_offsets":[0,0]}}"#, data: []))
        let m = assertCorrupt("read") { _ = try SafeTensorsFile.read(path) }
        XCTAssertTrue(m.contains(path) && m.contains("unknown dtype 'X'"), m)
    }

    // MARK: npy

    /// A `.npy` file built by hand with the given header dict text.
    func npy(_ dict: String, data: [UInt8], major: UInt8 = 1) -> [UInt8] {
        var header = Array(dict.utf8) + [0x0A]
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
        if major == 1 { return magic + le16(UInt16(header.count)) + header + data }
        header = Array(dict.utf8) + [0x20, 0x0A]
        return magic + le32(UInt32(header.count)) + header + data
    }

    func testNpyRoundTrip() throws {
        for shape in [[], [5], [2, 3], [2, 0, 3], [1, 2, 3, 4]] {
            let n = Shape.elementCount(shape)
            let t = Tensor(shape: shape, scalars: (0..<n).map { Float($0) * 0.5 - 1 })
            let path = directory + "/t.npy"
            try writeNpy(t, to: path)
            let bytes = try readFile(path)
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0)
            XCTAssertEqual(bytes[9 + headerLength], 0x0A)
            let back = try readNpy(path)
            XCTAssertEqual(back.shape, shape)
            XCTAssertEqual(back.scalars, t.scalars)
        }
        let header = String(decoding: encodeNpy(Tensor(shape: [3], scalars: [1, 2, 3]))[10..<128], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"), header)

        let path = directory + "/i.npy"
        try writeNpyInt32(shape: [2, 2], values: [1, -2, 3, Int32.max], to: path)
        let ints = try readNpyInt(path)
        XCTAssertEqual(ints.shape, [2, 2]); XCTAssertEqual(ints.values, [1, -2, 3, Int(Int32.max)])
        XCTAssertEqual(try readNpy(path).scalars, [1, -2, 3, Float(Int32.max)])
        XCTAssertThrowsError(try encodeNpyInt32(shape: [3], values: [1, 2])) { error in
            guard case FlowIOError.invalid = error else { return XCTFail("expected .invalid, got \(error)") }
        }
        assertCorrupt("float as int") { _ = try readNpyInt(self.directory + "/t.npy") }
    }

    func testNpyGoldenFiles() throws {
        // '<i8' as numpy 1.x writes it (v1.0), read as ints and as floats.
        let i8 = npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                     data: le64(UInt64(bitPattern: -7)) + le64(0) + le64(1 << 40))
        XCTAssertEqual(try decodeNpyInt(i8).values, [-7, 0, 1 << 40])
        XCTAssertEqual(try decodeNpy(i8).scalars, [-7, 0, Float(1 << 40)])
        // v2.0 header, '<f8', Python 2 long suffixes, double quotes, no trailing comma in the dict.
        let f8 = npy("{\"descr\": \"<f8\", \"shape\": (1L, 2L), \"fortran_order\": False}",
                     data: le64(0.1.bitPattern) + le64((-2.0).bitPattern), major: 2)
        let t = try decodeNpy(f8)
        XCTAssertEqual(t.shape, [1, 2]); XCTAssertEqual(t.scalars, [Float(0.1), -2])
        // v3.0, '|u1', '|b1', '<i4', scalar shape.
        XCTAssertEqual(try decodeNpyInt(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", data: [255, 3], major: 3)).values, [255, 3])
        XCTAssertEqual(try decodeNpyInt(npy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", data: [1, 0, 1])).values, [1, 0, 1])
        let scalar = try decodeNpyInt(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", data: le32(42)))
        XCTAssertEqual(scalar.shape, []); XCTAssertEqual(scalar.values, [42])
        XCTAssertEqual(try decodeNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: f32Bytes([1.5, -3]))).scalars, [1.5, -3])
    }

    func testNpyRejectsMalformed() {
        let good = encodeNpy(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        for length in 0..<good.count {
            assertCorrupt("npy truncated to \(length)") { _ = try decodeNpy(Array(good[0..<length])) }
        }
        assertCorrupt("npy trailing byte") { _ = try decodeNpy(good + [0]) }
        var badMagic = good; badMagic[1] = 0x4F
        assertCorrupt("bad magic") { _ = try decodeNpy(badMagic) }
        var badVersion = good; badVersion[6] = 4
        assertCorrupt("version 4") { _ = try decodeNpy(badVersion) }

        let d4 = f32Bytes([1, 2])
        let fortran = assertCorrupt("fortran") {
            _ = try decodeNpy(self.npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: d4))
        }
        XCTAssertTrue(fortran.contains("fortran_order"), fortran)
        let bigEndian = assertCorrupt("big-endian") {
            _ = try decodeNpy(self.npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: d4))
        }
        XCTAssertTrue(bigEndian.contains("big-endian"), bigEndian)
        let headers = [
            "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",      // unsupported dtype
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
            "{'fortran_order': False, 'shape': (2,), }",                       // missing descr
            "{'descr': '<f4', 'shape': (2,), }",                               // missing fortran_order
            "{'descr': '<f4', 'fortran_order': False, }",                      // missing shape
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", // extra key
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }",     // wrong data length
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ",
            "['descr', '<f4']",
            "",
        ]
        for h in headers {
            assertCorrupt("npy header \(h)") { _ = try decodeNpy(self.npy(h, data: d4)) }
        }
        assertCorrupt("int descr overflow") {
            _ = try decodeNpyInt(self.npy("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", data: self.le64(.max)))
        }
        XCTAssertThrowsError(try readNpy(directory + "/missing.npy")) { error in
            guard case FlowIOError.io = error else { return XCTFail("expected .io, got \(error)") }
        }
    }
}

extension IOTests {
    func testReadFileWithoutKnownSize() throws {
        // /proc files report size 0; readFile falls back to chunked reading.
        let bytes = try readFile("/proc/self/status")
        XCTAssertTrue(String(decoding: bytes, as: UTF8.self).contains("Name:"))
    }
}
