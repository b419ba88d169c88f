// Index-driven kernels: gather/scatter, row selection, segment reductions, masks, one-hot, sort/top-k.
// Index arguments are plain `[Int]`. They are checked with `precondition` (the C layer validates before
// calling the core, so a failure here is a programmer error inside Swift code).

extension Tensor {
    // MARK: gather / scatter along an axis (torch.gather, torch.scatter_add)

    /// torch.gather: `out[i₀…iₖ…] = self[i₀…indices[i₀…iₖ…]…]` where the index replaces coordinate `axis`.
    ///
    /// - Parameters:
    ///   - axis: the axis indexed (negative counts from the end).
    ///   - indices: row-major index tensor of shape `shape`; each value lies in `0..<self.shape[axis]`.
    ///   - shape: the index (and output) shape, of the same rank as `self` with `shape[d] ≤ self.shape[d]`
    ///     for every `d ≠ axis`. Default: `self.shape` with the extent along `axis` set to
    ///     `indices.count / (self.count / self.shape[axis])` (e.g. logits [B, A] and B indices → [B, 1]).
    /// - Returns: a tensor of shape `shape`.
    public func gather(axis: Int, indices: [Int], shape indexShape: [Int]? = nil) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let outShape = Tensor.gatherShape(source: shape, axis: ax, indexCount: indices.count, shape: indexShape, op: "gather")
        let out = Tensor(uninitialized: outShape)
        let src = storage.pointer, dst = out.storage.pointer
        Tensor.forEachGatherPair(source: shape, index: outShape, axis: ax, indices: indices, op: "gather") { o, s in
            dst[o] = src[s]
        }
        return out
    }

    /// torch.scatter_add into zeros: `out[i₀…indices[i₀…iₖ…]…] += self[i₀…iₖ…]` — the adjoint of
    /// `gather(axis:indices:shape:)`.
    ///
    /// - Parameters:
    ///   - axis: the axis indexed (negative counts from the end).
    ///   - indices: row-major, one per element of `self` (index shape = `self.shape`); each value lies in
    ///     `0..<outputShape[axis]`.
    ///   - outputShape: the result shape; same rank as `self`, `outputShape[d] ≥ self.shape[d]` for `d ≠ axis`.
    /// - Returns: a tensor of shape `outputShape`.
    public func scatterAdd(axis: Int, indices: [Int], into outputShape: [Int]) -> Tensor {
        precondition(outputShape.count == rank, "scatterAdd: output shape \(outputShape) must have the rank of source \(shape)")
        let ax = Shape.normalize(axis: axis, rank: rank)
        _ = Tensor.gatherShape(source: outputShape, axis: ax, indexCount: indices.count, shape: shape, op: "scatterAdd")
        let out = Tensor(zeros: outputShape)
        let src = storage.pointer, dst = out.storage.pointer
        Tensor.forEachGatherPair(source: outputShape, index: shape, axis: ax, indices: indices, op: "scatterAdd") { o, s in
            dst[s] += src[o]
        }
        return out
    }

    /// Validates an index shape for gather/scatter and returns it.
    static func gatherShape(source: [Int], axis: Int, indexCount: Int, shape: [Int]?, op: String) -> [Int] {
        if let shape {
            precondition(shape.count == source.count, "\(op): index shape \(shape) must have the rank of \(source)")
            precondition(Shape.elementCount(shape) == indexCount,
                         "\(op): \(indexCount) indices do not fill index shape \(shape)")
            for d in 0..<shape.count where d != axis {
                precondition(shape[d] <= source[d], "\(op): index shape \(shape) exceeds \(source) on axis \(d)")
            }
            return shape
        }
        var others = 1
        for d in 0..<source.count where d != axis { others &*= source[d] }
        precondition(others > 0 ? indexCount % others == 0 : indexCount == 0,
                     "\(op): \(indexCount) indices are not a whole number of slices of \(source) along axis \(axis); pass shape:")
        var s = source
        s[axis] = others > 0 ? indexCount / others : 0
        return s
    }

    /// Calls `body(indexOffset, sourceOffset)` for every element of the index tensor, in row-major order.
    @inline(__always)
    static func forEachGatherPair(source: [Int], index: [Int], axis: Int, indices: [Int], op: String,
                                  _ body: (Int, Int) -> Void) {
        let rank = source.count
        let total = indices.count
        if total == 0 { return }
        var sourceStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { sourceStrides[d] = sourceStrides[d + 1] &* source[d + 1] }
        let extent = source[axis], axisStride = sourceStrides[axis]
        var coordinate = [Int](repeating: 0, count: rank)
        var base = 0   // source offset of the current coordinate without the axis term
        indices.withUnsafeBufferPointer { idx in
            for o in 0..<total {
                let j = idx[o]
                precondition(j >= 0 && j < extent,
                             "\(op): index \(j) at position \(o) out of range 0..<\(extent) for axis \(axis) of \(source)")
                body(o, base &+ j &* axisStride)
                var d = rank - 1
                while d >= 0 {
                    coordinate[d] &+= 1
                    if d != axis { base &+= sourceStrides[d] }
                    if coordinate[d] < index[d] { break }
                    if d != axis { base &-= sourceStrides[d] &* coordinate[d] }
                    coordinate[d] = 0
                    d -= 1
                }
            }
        }
    }

    // MARK: row selection and row scatter

    /// Selects slices along `axis`: `out[…, i, …] = self[…, indices[i], …]` (torch.index_select).
    /// For `axis = 0` on [n, d…] this gives [indices.count, d…]. Indices may repeat; each lies in
    /// `0..<self.shape[axis]`.
    public func indexSelect(axis: Int = 0, indices: [Int]) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let (outer, n, inner) = Shape.split(shape, axis: ax)
        var outShape = shape; outShape[ax] = indices.count
        let out = Tensor(uninitialized: outShape)
        let m = indices.count
        let src = storage.pointer, dst = out.storage.pointer
        indices.withUnsafeBufferPointer { idx in
            for i in 0..<m {
                precondition(idx[i] >= 0 && idx[i] < n,
                             "indexSelect: index \(idx[i]) at position \(i) out of range 0..<\(n) for axis \(ax) of \(shape)")
            }
            for o in 0..<outer {
                for i in 0..<m {
                    (dst + (o &* m &+ i) &* inner).update(from: src + (o &* n &+ idx[i]) &* inner, count: inner)
                }
            }
        }
        return out
    }

    /// Adds slices along `axis` into zeros of extent `extent`: `out[…, indices[i], …] += self[…, i, …]`
    /// (torch.index_add; the adjoint of `indexSelect`). `indices.count` must equal `self.shape[axis]`.
    public func indexAdd(axis: Int = 0, indices: [Int], extent: Int) -> Tensor {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let (outer, m, inner) = Shape.split(shape, axis: ax)
        precondition(indices.count == m, "indexAdd: \(indices.count) indices for \(m) slices of \(shape) along axis \(ax)")
        precondition(extent >= 0, "indexAdd: negative extent \(extent)")
        var outShape = shape; outShape[ax] = extent
        let out = Tensor(zeros: outShape)
        let src = storage.pointer, dst = out.storage.pointer
        indices.withUnsafeBufferPointer { idx in
            for i in 0..<m {
                precondition(idx[i] >= 0 && idx[i] < extent,
                             "indexAdd: index \(idx[i]) at position \(i) out of range 0..<\(extent)")
            }
            for o in 0..<outer {
                for i in 0..<m {
                    let s = src + (o &* m &+ i) &* inner
                    let d = dst + (o &* extent &+ idx[i]) &* inner
                    for k in 0..<inner { d[k] += s[k] }
                }
            }
        }
        return out
    }

    /// Row scatter-add: for self [m, d…] and `indices.count == m`, returns [count, d…] with
    /// `out[indices[i]] += self[i]` (rows never indexed are 0). Each index lies in `0..<count`.
    public func scatterAdd(rowsInto count: Int, indices: [Int]) -> Tensor {
        precondition(rank >= 1, "scatterAdd(rowsInto:) needs rank ≥ 1, got a scalar")
        return indexAdd(axis: 0, indices: indices, extent: count)
    }

    // MARK: segment reductions over rows

    /// Number of rows in each segment; validates `segmentIDs` against [rows, …] and `segmentCount`.
    public static func segmentSizes(segmentIDs: [Int], segmentCount: Int, rows: Int, op: String = "segment") -> [Int] {
        precondition(segmentCount >= 0, "\(op): negative segmentCount \(segmentCount)")
        precondition(segmentIDs.count == rows, "\(op): \(segmentIDs.count) segment ids for \(rows) rows")
        var sizes = [Int](repeating: 0, count: segmentCount)
        for (i, s) in segmentIDs.enumerated() {
            precondition(s >= 0 && s < segmentCount, "\(op): segment id \(s) at row \(i) out of range 0..<\(segmentCount)")
            sizes[s] &+= 1
        }
        return sizes
    }

    /// Per-segment sum of rows: self [n, d…], `segmentIDs.count == n` (any order) → [segmentCount, d…].
    /// Empty segments give 0.
    public func segmentSum(segmentIDs: [Int], segmentCount: Int) -> Tensor {
        precondition(rank >= 1, "segmentSum needs rank ≥ 1, got a scalar")
        _ = Tensor.segmentSizes(segmentIDs: segmentIDs, segmentCount: segmentCount, rows: shape[0], op: "segmentSum")
        return indexAdd(axis: 0, indices: segmentIDs, extent: segmentCount)
    }

    /// Per-segment mean of rows: [n, d…] → [segmentCount, d…]; empty segments give 0.
    public func segmentMean(segmentIDs: [Int], segmentCount: Int) -> Tensor {
        precondition(rank >= 1, "segmentMean needs rank ≥ 1, got a scalar")
        let sizes = Tensor.segmentSizes(segmentIDs: segmentIDs, segmentCount: segmentCount, rows: shape[0], op: "segmentMean")
        var out = indexAdd(axis: 0, indices: segmentIDs, extent: segmentCount)
        let width = count / Swift.max(shape[0], 1)
        out.withUnsafeMutableBufferPointer { p in
            for s in 0..<segmentCount where sizes[s] > 1 {
                let scale = 1 / Float(sizes[s])
                for k in 0..<width { p[s &* width &+ k] *= scale }
            }
        }
        return out
    }

    /// Per-segment, per-column maximum of rows: [n, d…] → [segmentCount, d…]; empty segments give 0.
    /// Also returns, for every output element, the row of its first maximal element (-1 when empty).
    public func segmentMax(segmentIDs: [Int], segmentCount: Int) -> (values: Tensor, argmax: [Int]) {
        precondition(rank >= 1, "segmentMax needs rank ≥ 1, got a scalar")
        _ = Tensor.segmentSizes(segmentIDs: segmentIDs, segmentCount: segmentCount, rows: shape[0], op: "segmentMax")
        var outShape = shape; outShape[0] = segmentCount
        let out = Tensor(zeros: outShape)
        let width = count / Swift.max(shape[0], 1)
        var argmax = [Int](repeating: -1, count: segmentCount &* width)
        if width == 0 { return (out, argmax) }
        let src = storage.pointer, dst = out.storage.pointer
        argmax.withUnsafeMutableBufferPointer { am in
            for r in 0..<shape[0] {
                let s = segmentIDs[r]
                let row = src + r &* width, best = dst + s &* width
                let bestRow = am.baseAddress! + s &* width
                for k in 0..<width {
                    let v = row[k]
                    // NaN propagates (first NaN wins); otherwise strictly greater keeps the first maximum.
                    if bestRow[k] < 0 || (!best[k].isNaN && (v > best[k] || v.isNaN)) {
                        best[k] = v; bestRow[k] = r
                    }
                }
            }
        }
        return (out, argmax)
    }

    // MARK: masks

    /// Element-wise choice: `out = mask ? a : b`, with `a` and `b` broadcast to a common shape and
    /// `mask` given row-major for that shape (`mask.count` = its element count).
    public static func `where`(_ mask: [Bool], _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let outShape = Shape.broadcast(a.shape, b.shape) else {
            preconditionFailure("where: shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let n = Shape.elementCount(outShape)
        precondition(mask.count == n, "where: mask has \(mask.count) elements, the result \(outShape) has \(n)")
        let ea = a.broadcasted(to: outShape), eb = b.broadcasted(to: outShape)
        let out = Tensor(uninitialized: outShape)
        let dst = out.storage.pointer
        ea.withUnsafeBufferPointer { pa in eb.withUnsafeBufferPointer { pb in mask.withUnsafeBufferPointer { m in
            for i in 0..<n { dst[i] = m[i] ? pa[i] : pb[i] }
        } } }
        return out
    }

    /// `where` with a 0/1 (nonzero = true) mask tensor of the result's element count.
    public static func `where`(_ mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor.where(mask.maskBits, a, b)
    }

    /// `mask ? value : self`; `mask.count` must equal `self.count` (row-major).
    public func maskedFill(_ mask: [Bool], value: Float) -> Tensor {
        precondition(mask.count == count, "maskedFill: mask has \(mask.count) elements, the tensor \(shape) has \(count)")
        let out = Tensor(uninitialized: shape)
        let src = storage.pointer, dst = out.storage.pointer
        mask.withUnsafeBufferPointer { m in
            for i in 0..<count { dst[i] = m[i] ? value : src[i] }
        }
        return out
    }

    /// `maskedFill` with a 0/1 (nonzero = true) mask tensor of `self.count` elements.
    public func maskedFill(_ mask: Tensor, value: Float) -> Tensor {
        maskedFill(mask.maskBits, value: value)
    }

    /// The elements as booleans (nonzero = true).
    public var maskBits: [Bool] {
        withUnsafeBufferPointer { p in p.map { $0 != 0 } }
    }

    /// This tensor repeated to `target` under NumPy broadcasting (returns self when shapes are equal).
    public func broadcasted(to target: [Int]) -> Tensor {
        if shape == target { return self }
        guard let s = Shape.broadcast(shape, target), s == target else {
            preconditionFailure("cannot broadcast \(shape) to \(target)")
        }
        return Tensor(zeros: target).broadcastMap(self) { _, x in x }
    }

    /// One-hot rows: [indices.count, classes] with a 1 at (i, indices[i]). Each index lies in `0..<classes`.
    public static func oneHot(_ indices: [Int], classes: Int) -> Tensor {
        precondition(classes >= 0, "oneHot: negative class count \(classes)")
        let out = Tensor(zeros: [indices.count, classes])
        let dst = out.storage.pointer
        for (i, c) in indices.enumerated() {
            precondition(c >= 0 && c < classes, "oneHot: index \(c) at position \(i) out of range 0..<\(classes)")
            dst[i &* classes &+ c] = 1
        }
        return out
    }

    // MARK: sort / top-k

    /// Sorts along `axis` (stable: equal values keep their order; NaN sorts as the largest value).
    /// - Returns: the sorted values (same shape) and, row-major in that shape, the source position along
    ///   `axis` of each value (torch.sort's indices).
    public func sort(axis: Int = -1, descending: Bool = false) -> (values: Tensor, indices: [Int]) {
        let ax = Shape.normalize(axis: axis, rank: rank)
        return selectOrdered(axis: ax, k: shape[ax], descending: descending)
    }

    /// The `k` largest (or smallest) elements along `axis`, ordered best first; ties keep the lower
    /// index first. `k` lies in `0...shape[axis]`.
    /// - Returns: values with `shape[axis] = k` and their source positions along `axis` (row-major).
    public func topk(_ k: Int, axis: Int = -1, largest: Bool = true) -> (values: Tensor, indices: [Int]) {
        let ax = Shape.normalize(axis: axis, rank: rank)
        precondition(k >= 0 && k <= shape[ax], "topk: k = \(k) out of range 0...\(shape[ax]) for axis \(ax) of \(shape)")
        return selectOrdered(axis: ax, k: k, descending: largest)
    }

    private func selectOrdered(axis ax: Int, k: Int, descending: Bool) -> (values: Tensor, indices: [Int]) {
        let (outer, n, inner) = Shape.split(shape, axis: ax)
        var outShape = shape; outShape[ax] = k
        let out = Tensor(uninitialized: outShape)
        var indices = [Int](repeating: 0, count: outer &* k &* inner)
        let src = storage.pointer, dst = out.storage.pointer
        var order = [Int](repeating: 0, count: n)
        indices.withUnsafeMutableBufferPointer { idx in
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = src + (o &* n &* inner &+ i)
                    for j in 0..<n { order[j] = j }
                    // Total order with the index as tie-break: stable whatever the sort algorithm.
                    order.sort { p, q in
                        let a = base[p &* inner], b = base[q &* inner]
                        if a.isNaN || b.isNaN {
                            if a.isNaN && b.isNaN { return p < q }
                            return descending ? a.isNaN : b.isNaN
                        }
                        if a == b { return p < q }
                        return descending ? a > b : a < b
                    }
                    for j in 0..<k {
                        let o2 = (o &* k &+ j) &* inner &+ i
                        dst[o2] = base[order[j] &* inner]
                        idx[o2] = order[j]
                    }
                }
            }
        }
        return (out, indices)
    }
}
