/// Typed reading of a flowgen checkpoint's `flowgen.*` metadata (the string map of a safetensors
/// file). Every model's loader uses it, so every missing or malformed field is reported the same way:
/// `FlowIOError.corrupt` naming the key.
public struct CheckpointMetadata {
    /// The raw `__metadata__` map.
    public let values: [String: String]

    public init(_ file: SafeTensorsFile) { values = file.metadata }

    /// The text stored under `flowgen.<key>`.
    public func string(_ key: String) throws -> String {
        guard let v = values["flowgen.\(key)"] else { throw FlowIOError.corrupt("checkpoint metadata lacks 'flowgen.\(key)'") }
        return v
    }

    /// An integer stored under `flowgen.<key>` (decimal, must fit `T`).
    public func integer<T: FixedWidthInteger>(_ key: String, as type: T.Type = Int.self) throws -> T {
        guard let v = T(try string(key)) else {
            throw FlowIOError.corrupt("checkpoint metadata 'flowgen.\(key)' is not an integer of type \(T.self)")
        }
        return v
    }

    /// A Float stored exactly as its IEEE-754 bit pattern (decimal UInt32) under `flowgen.<key>`.
    public func float(_ key: String) throws -> Float {
        Float(bitPattern: try integer(key, as: UInt32.self))
    }

    /// A generator state stored as four comma-separated decimal words under `flowgen.<key>`.
    public func randomGenerator(_ key: String = "rng") throws -> RandomGenerator {
        let words = try string(key).split(separator: ",").compactMap { UInt64($0) }
        guard words.count == 4 else { throw FlowIOError.corrupt("checkpoint metadata 'flowgen.\(key)' must hold four integers") }
        return RandomGenerator(state: (words[0], words[1], words[2], words[3]))
    }
}
