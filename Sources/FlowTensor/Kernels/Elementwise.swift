#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// Applies `f` to every element.
    @inlinable @inline(__always)
    public func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let src = storage.pointer, dst = out.storage.pointer
        for i in 0..<count { dst[i] = f(src[i]) }
        return out
    }

    /// Combines two tensors of the same shape element by element.
    @inlinable @inline(__always)
    public func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "zipMap needs equal shapes, got \(shape) and \(other.shape)")
        let out = Tensor(uninitialized: shape)
        let a = storage.pointer, b = other.storage.pointer, dst = out.storage.pointer
        for i in 0..<count { dst[i] = f(a[i], b[i]) }
        return out
    }

    /// Combines two tensors with NumPy broadcasting.
    @inlinable @inline(__always)
    public func broadcastMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        if shape == other.shape { return zipMap(other, f) }
        let a = storage.pointer, b = other.storage.pointer
        if other.count == 1 && other.rank <= rank {
            let s = b[0]
            let out = Tensor(uninitialized: shape); let dst = out.storage.pointer
            for i in 0..<count { dst[i] = f(a[i], s) }
            return out
        }
        if count == 1 && rank <= other.rank {
            let s = a[0]
            let out = Tensor(uninitialized: other.shape); let dst = out.storage.pointer
            for i in 0..<other.count { dst[i] = f(s, b[i]) }
            return out
        }
        guard let outShape = Shape.broadcast(shape, other.shape) else {
            preconditionFailure("shapes \(shape) and \(other.shape) do not broadcast")
        }
        let out = Tensor(uninitialized: outShape)
        let dst = out.storage.pointer
        let rank = outShape.count
        let sa = Shape.broadcastStrides(shape, in: outShape)
        let sb = Shape.broadcastStrides(other.shape, in: outShape)
        let inner = outShape[rank - 1]
        let ia = sa[rank - 1], ib = sb[rank - 1]
        let rows = out.count / Swift.max(inner, 1)
        var index = [Int](repeating: 0, count: rank)
        var offA = 0, offB = 0
        var o = 0
        for _ in 0..<rows {
            var pa = offA, pb = offB
            for _ in 0..<inner {
                dst[o] = f(a[pa], b[pb])
                o &+= 1; pa &+= ia; pb &+= ib
            }
            // advance the multi-index over the leading rank-1 axes
            var d = rank - 2
            while d >= 0 {
                index[d] += 1; offA += sa[d]; offB += sb[d]
                if index[d] < outShape[d] { break }
                offA -= sa[d] * index[d]; offB -= sb[d] * index[d]; index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Sums a broadcast result back to `target` shape (the adjoint of broadcasting).
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let targetCount = Shape.elementCount(target)
        if targetCount == 1 { return Tensor(shape: target, repeating: sum()) }
        let out = Tensor(zeros: target)
        let src = storage.pointer, dst = out.storage.pointer
        // Fast path: [rows, cols] → [cols] or [1, cols] (bias gradients).
        if rank >= 1, let last = target.last, last == shape[rank - 1], targetCount == last {
            let rows = count / Swift.max(last, 1)
            for r in 0..<rows {
                let row = src + (r &* last)
                for j in 0..<last { dst[j] += row[j] }
            }
            return out
        }
        let strides = Shape.broadcastStrides(target, in: shape)
        let inner = shape[rank - 1], innerStride = strides[rank - 1]
        let rows = count / Swift.max(inner, 1)
        var index = [Int](repeating: 0, count: rank)
        var offset = 0, i = 0
        for _ in 0..<rows {
            var p = offset
            for _ in 0..<inner { dst[p] += src[i]; i &+= 1; p &+= innerStride }
            var d = rank - 2
            while d >= 0 {
                index[d] += 1; offset += strides[d]
                if index[d] < shape[d] { break }
                offset -= strides[d] * index[d]; index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Sum of all elements (accumulated in Double).
    public func sum() -> Float {
        let p = storage.pointer
        var acc: Double = 0
        for i in 0..<count { acc += Double(p[i]) }
        return Float(acc)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.broadcastMap(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.broadcastMap(b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.broadcastMap(b, *) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.broadcastMap(b, /) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }

    /// self += other (same shape), in place.
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape || count == other.count, "add: shapes \(shape) and \(other.shape) differ")
        let src = other.storage.pointer
        withUnsafeMutableBufferPointer { dst in
            for i in 0..<dst.count { dst[i] += src[i] }
        }
    }

    /// self += alpha · other (same shape), in place.
    public mutating func add(_ other: Tensor, scaledBy alpha: Float) {
        precondition(count == other.count, "add(scaledBy:): shapes \(shape) and \(other.shape) differ")
        let src = other.storage.pointer
        withUnsafeMutableBufferPointer { dst in
            for i in 0..<dst.count { dst[i] += alpha * src[i] }
        }
    }

    /// Fills with a value, in place.
    public mutating func fill(_ value: Float) {
        withUnsafeMutableBufferPointer { $0.update(repeating: value) }
    }
}
