import CFlowSupport
#if canImport(Glibc)
import Glibc
#endif

/// Owned, 64-byte aligned Float32 memory behind one or more `Tensor` values (copy-on-write).
public final class TensorStorage {
    /// First element. Valid while this object is alive.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Float32 elements.
    public let count: Int

    /// Allocates `count` uninitialised elements (at least one, so the pointer is never dangling).
    public init(count: Int) {
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let bytes = Swift.max(count, 1) &* MemoryLayout<Float>.stride
        if posix_memalign(&raw, 64, bytes) != 0 || raw == nil {
            fatalError("flowgen: out of memory allocating \(bytes) bytes")
        }
        pointer = raw!.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
    }

    deinit { free(pointer) }
}

/// A dense row-major Float32 array with a shape (rank 0 = scalar). Value semantics: copies share
/// storage until one of them is written (`withUnsafeMutableBufferPointer` copies on write).
public struct Tensor: CustomStringConvertible, @unchecked Sendable {
    /// Extent of each dimension, outermost first.
    public let shape: [Int]
    /// The memory; shared between copies until written.
    public private(set) var storage: TensorStorage

    /// Number of elements (product of `shape`).
    @inlinable public var count: Int { storage.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// A tensor with uninitialised contents; every kernel that uses it writes all elements.
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(count: Shape.elementCount(shape))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(uninitialized: shape)
        storage.pointer.initialize(repeating: 0, count: storage.count)
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        storage.pointer.initialize(repeating: value, count: storage.count)
    }

    /// A tensor holding `scalars` in row-major order. `scalars.count` must equal the shape's product.
    public init(shape: [Int], scalars: [Float]) {
        precondition(Shape.elementCount(shape) == scalars.count,
                     "Tensor(shape: \(shape)) needs \(Shape.elementCount(shape)) scalars, got \(scalars.count)")
        self.init(uninitialized: shape)
        scalars.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.pointer.update(from: base, count: src.count) }
        }
    }

    /// A tensor copied from raw memory of `Shape.elementCount(shape)` floats.
    public init(shape: [Int], copying source: UnsafePointer<Float>) {
        self.init(uninitialized: shape)
        storage.pointer.update(from: source, count: storage.count)
    }

    /// A rank-0 tensor.
    public init(_ scalar: Float) {
        self.init(shape: [], repeating: scalar)
    }

    /// A new view of the same storage with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Shape.elementCount(newShape) == count, "cannot reshape \(shape) to \(newShape)")
        var copy = self
        copy.setShape(newShape)
        return copy
    }

    private mutating func setShape(_ newShape: [Int]) {
        self = Tensor(sharing: storage, shape: newShape)
    }

    private init(sharing storage: TensorStorage, shape: [Int]) {
        self.storage = storage
        self.shape = shape
    }

    /// The elements as a Swift array (row-major).
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar requested from a tensor of shape \(shape)")
        return storage.pointer[0]
    }

    /// Element at a flat (row-major) index.
    public subscript(flat index: Int) -> Float {
        precondition(index >= 0 && index < count, "flat index \(index) out of range 0..<\(count)")
        return storage.pointer[index]
    }

    /// Read-only access to the elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: storage.pointer, count: count))
        }
    }

    /// Write access to the elements; copies the storage first if another tensor shares it.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let fresh = TensorStorage(count: count)
            fresh.pointer.update(from: storage.pointer, count: count)
            storage = fresh
        }
        return try withExtendedLifetime(storage) {
            try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
        }
    }

    /// A deep copy with its own storage.
    public func copy() -> Tensor { Tensor(shape: shape, copying: storage.pointer) }

    public var description: String {
        let shown = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }

    /// True when every element is finite (no NaN, no ±inf).
    public var isFinite: Bool {
        let p = storage.pointer
        for i in 0..<count where !p[i].isFinite { return false }
        return true
    }
}

/// Shape arithmetic shared by every kernel.
public enum Shape {
    /// Product of the extents; traps on negative extents or overflow (callers at the C boundary
    /// validate with `checkedElementCount` first).
    public static func elementCount(_ shape: [Int]) -> Int {
        guard let n = checkedElementCount(shape) else {
            preconditionFailure("invalid shape \(shape): negative extent or element count overflow")
        }
        return n
    }

    /// Product of the extents, or nil when an extent is negative or the product overflows.
    public static func checkedElementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            if d < 0 { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// Splits a shape around `axis` into (outer, extent, inner) element counts.
    public static func split(_ shape: [Int], axis: Int) -> (outer: Int, extent: Int, inner: Int) {
        precondition(axis >= 0 && axis < shape.count, "axis \(axis) out of range for shape \(shape)")
        var outer = 1, inner = 1
        for i in 0..<axis { outer *= shape[i] }
        for i in (axis + 1)..<shape.count { inner *= shape[i] }
        return (outer, shape[axis], inner)
    }

    /// Normalises a possibly negative axis (-1 = last).
    public static func normalize(axis: Int, rank: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// NumPy broadcasting of two shapes; nil when incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Row-major strides of `shape` seen inside `outShape` (rank-aligned on the right); broadcast
    /// dimensions get stride 0.
    public static func broadcastStrides(_ shape: [Int], in outShape: [Int]) -> [Int] {
        let rank = outShape.count
        var strides = [Int](repeating: 0, count: rank)
        var running = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let o = i + (rank - shape.count)
            strides[o] = shape[i] == 1 && outShape[o] != 1 ? 0 : running
            running *= shape[i]
        }
        return strides
    }

    /// The shape with `axis` removed (or set to 1 when `keepDims`).
    public static func reduced(_ shape: [Int], axis: Int, keepDims: Bool) -> [Int] {
        var s = shape
        if keepDims { s[axis] = 1 } else { s.remove(at: axis) }
        return s
    }
}
