#if canImport(Glibc)
import Glibc
#endif

extension Tensor {
    /// Sum along `axis` (negative counts from the end).
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let (outer, n, inner) = Shape.split(shape, axis: ax)
        let out = Tensor(zeros: Shape.reduced(shape, axis: ax, keepDims: keepDims))
        let src = storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            let base = o &* n &* inner, dbase = o &* inner
            if inner == 1 {
                var acc: Float = 0
                for j in 0..<n { acc += src[base &+ j] }
                dst[dbase] = acc
            } else {
                for j in 0..<n {
                    let row = src + (base &+ j &* inner)
                    for i in 0..<inner { dst[dbase &+ i] += row[i] }
                }
            }
        }
        return out
    }

    /// Mean along `axis`.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let n = shape[ax]
        return sum(axis: ax, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Maximum (or minimum) along `axis` and the index of the first extreme element.
    public func extreme(axis: Int, keepDims: Bool = false, largest: Bool) -> (values: Tensor, indices: [Int]) {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let (outer, n, inner) = Shape.split(shape, axis: ax)
        precondition(n > 0, "max/min over an empty axis")
        let out = Tensor(uninitialized: Shape.reduced(shape, axis: ax, keepDims: keepDims))
        var indices = [Int](repeating: 0, count: outer * inner)
        let src = storage.pointer, dst = out.storage.pointer
        indices.withUnsafeMutableBufferPointer { idx in
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o &* n &* inner &+ i
                    var best = src[base], bestJ = 0
                    for j in 1..<Swift.max(n, 1) {
                        let v = src[base &+ j &* inner]
                        if largest ? (v > best || (v.isNaN && !best.isNaN)) : (v < best || (v.isNaN && !best.isNaN)) {
                            best = v; bestJ = j
                        }
                    }
                    dst[o &* inner &+ i] = best
                    idx[o &* inner &+ i] = bestJ
                }
            }
        }
        return (out, indices)
    }

    /// log Σ exp along `axis`, stable (max-shifted). Rows that are all -inf give -inf.
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let (outer, n, inner) = Shape.split(shape, axis: ax)
        let out = Tensor(uninitialized: Shape.reduced(shape, axis: ax, keepDims: keepDims))
        let src = storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o &* n &* inner &+ i
                var m = -Float.infinity
                for j in 0..<n { m = Swift.max(m, src[base &+ j &* inner]) }
                if m == -Float.infinity || !m.isFinite { dst[o &* inner &+ i] = m; continue }
                var acc: Float = 0
                for j in 0..<n { acc += expf(src[base &+ j &* inner] - m) }
                dst[o &* inner &+ i] = m + logf(acc)
            }
        }
        return out
    }

    /// log softmax along `axis`.
    public func logSoftmax(axis: Int) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let lse = logSumExp(axis: ax, keepDims: true)
        return self - lse
    }

    /// softmax along `axis`.
    public func softmax(axis: Int) -> Tensor {
        logSoftmax(axis: axis).map { expf($0) }
    }

    /// Inclusive cumulative sum along `axis` (`reverse` sums from the end).
    public func cumsum(axis: Int, reverse: Bool = false) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let (outer, n, inner) = Shape.split(shape, axis: ax)
        let out = Tensor(uninitialized: shape)
        let src = storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o &* n &* inner &+ i
                var acc: Float = 0
                if reverse {
                    var j = n - 1
                    while j >= 0 { acc += src[base &+ j &* inner]; dst[base &+ j &* inner] = acc; j -= 1 }
                } else {
                    for j in 0..<n { acc += src[base &+ j &* inner]; dst[base &+ j &* inner] = acc }
                }
            }
        }
        return out
    }
}
