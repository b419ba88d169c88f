extension Tensor {
    /// Reorders axes: result axis i is input axis `permutation[i]`.
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.count == rank && Set(permutation) == Set(0..<rank),
                     "invalid permutation \(permutation) for rank \(rank)")
        if permutation == Array(0..<rank) { return self }
        let outShape = permutation.map { shape[$0] }
        let out = Tensor(uninitialized: outShape)
        if count == 0 { return out }
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let strides = permutation.map { inStrides[$0] }
        let src = storage.pointer, dst = out.storage.pointer
        if rank == 2 {
            let r = outShape[0], c = outShape[1], s0 = strides[0], s1 = strides[1]
            for i in 0..<r { for j in 0..<c { dst[i &* c &+ j] = src[i &* s0 &+ j &* s1] } }
            return out
        }
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        for o in 0..<count {
            dst[o] = src[offset]
            var d = rank - 1
            while d >= 0 {
                index[d] += 1; offset += strides[d]
                if index[d] < outShape[d] { break }
                offset -= strides[d] * index[d]; index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Swaps the last two axes (matrix transpose for rank 2).
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transposed needs rank ≥ 2")
        var p = Array(0..<rank); p.swapAt(rank - 1, rank - 2)
        return permuted(p)
    }

    /// Concatenates tensors along `axis`; all other extents must agree.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of zero tensors")
        let rank = parts[0].rank
        let ax = Shape.normalize(axis: axis, rank: rank)
        var outShape = parts[0].shape
        outShape[ax] = 0
        for p in parts {
            precondition(p.rank == rank, "concat rank mismatch: \(p.shape) vs \(parts[0].shape)")
            for d in 0..<rank where d != ax {
                precondition(p.shape[d] == parts[0].shape[d], "concat shape mismatch: \(p.shape) vs \(parts[0].shape)")
            }
            outShape[ax] += p.shape[ax]
        }
        let out = Tensor(uninitialized: outShape)
        let (outer, total, inner) = Shape.split(outShape, axis: ax)
        let dst = out.storage.pointer
        var start = 0
        for p in parts {
            let n = p.shape[ax], src = p.storage.pointer, chunk = n &* inner
            for o in 0..<outer {
                (dst + (o &* total &* inner &+ start &* inner)).update(from: src + o &* chunk, count: chunk)
            }
            start += n
        }
        return out
    }

    /// Stacks equally shaped tensors along a new axis.
    public static func stack(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "stack of zero tensors")
        let ax = Shape.normalize(axis: axis, rank: parts[0].rank + 1)
        var expanded = parts[0].shape; expanded.insert(1, at: ax)
        return concat(parts.map {
            precondition($0.shape == parts[0].shape, "stack shape mismatch: \($0.shape) vs \(parts[0].shape)")
            return $0.reshaped(expanded)
        }, axis: ax)
    }

    /// Elements start..<end along `axis`.
    public func slice(axis: Int, start: Int, end: Int) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        precondition(0 <= start && start <= end && end <= shape[ax], "slice \(start)..<\(end) out of range for axis \(ax) of \(shape)")
        var outShape = shape; outShape[ax] = end - start
        let out = Tensor(uninitialized: outShape)
        let (outer, n, inner) = Shape.split(shape, axis: ax)
        let chunk = (end - start) &* inner
        let src = storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            (dst + o &* chunk).update(from: src + (o &* n &+ start) &* inner, count: chunk)
        }
        return out
    }

    /// Places self at offset `start` along `axis` inside zeros of extent `fullExtent` (the adjoint of `slice`).
    public func paddedSlice(axis: Int, start: Int, fullExtent: Int) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        var outShape = shape; outShape[ax] = fullExtent
        let out = Tensor(zeros: outShape)
        let (outer, n, inner) = Shape.split(shape, axis: ax)
        let chunk = n &* inner
        let src = storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            (dst + (o &* fullExtent &+ start) &* inner).update(from: src + o &* chunk, count: chunk)
        }
        return out
    }
}
