import FlowTensor

// Index-driven ops. Index arguments are `[Int]` (no gradient); each backward is the adjoint of the
// forward selection: gather ↔ scatter-add, indexSelect ↔ indexAdd, segment reductions ↔ row selection.

extension Variable {
    /// torch.gather along `axis`: `out[…iₖ…] = self[…indices[…iₖ…]…]` (index replaces coordinate `axis`).
    ///
    /// - Parameters:
    ///   - indices: row-major index tensor of shape `shape`, values in `0..<self.shape[axis]`.
    ///   - shape: index/output shape of the rank of `self`, `shape[d] ≤ self.shape[d]` for `d ≠ axis`.
    ///     Default: `self.shape` with the `axis` extent set to `indices.count / (self.count / self.shape[axis])`.
    /// - Returns: [shape]. Backward: scatter-add of the gradient into zeros of `self.shape`.
    public func gather(axis: Int, indices: [Int], shape indexShape: [Int]? = nil) -> Variable {
        let sourceShape = value.shape
        let ax = Shape.normalize(axis: axis, rank: sourceShape.count)
        let out = value.gather(axis: ax, indices: indices, shape: indexShape)
        return Variable(out, inputs: [self]) { g in
            [g.scatterAdd(axis: ax, indices: indices, into: sourceShape)]
        }
    }

    /// Slices along `axis` picked by `indices` (torch.index_select): [n, d…] → [indices.count, d…] for
    /// `axis = 0`. Indices may repeat. Backward: the gradient rows are added back (scatter-add).
    public func indexSelect(axis: Int = 0, indices: [Int]) -> Variable {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let extent = shape[ax]
        return Variable(value.indexSelect(axis: ax, indices: indices), inputs: [self]) { g in
            [g.indexAdd(axis: ax, indices: indices, extent: extent)]
        }
    }

    /// Row scatter-add: self [m, d…] with `indices.count == m` → [count, d…], `out[indices[i]] += self[i]`.
    /// Backward: rows of the gradient selected by `indices`.
    public func scatterAdd(rowsInto count: Int, indices: [Int]) -> Variable {
        Variable(value.scatterAdd(rowsInto: count, indices: indices), inputs: [self]) { g in
            [g.indexSelect(axis: 0, indices: indices)]
        }
    }

    /// Per-segment sum of rows: self [n, d…], `segmentIDs.count == n` (values in `0..<segmentCount`, any
    /// order) → [segmentCount, d…]; empty segments give 0. Backward: each row receives its segment's gradient.
    public func segmentSum(segmentIDs: [Int], segmentCount: Int) -> Variable {
        Variable(value.segmentSum(segmentIDs: segmentIDs, segmentCount: segmentCount), inputs: [self]) { g in
            [g.indexSelect(axis: 0, indices: segmentIDs)]
        }
    }

    /// Per-segment mean of rows: [n, d…] → [segmentCount, d…]; empty segments give 0.
    /// Backward: each row receives its segment's gradient divided by the segment size.
    public func segmentMean(segmentIDs: [Int], segmentCount: Int) -> Variable {
        let out = value.segmentMean(segmentIDs: segmentIDs, segmentCount: segmentCount)
        return Variable(out, inputs: [self]) { g in
            let sizes = Tensor.segmentSizes(segmentIDs: segmentIDs, segmentCount: segmentCount, rows: segmentIDs.count)
            var rows = g.indexSelect(axis: 0, indices: segmentIDs)
            let width = rows.count / Swift.max(segmentIDs.count, 1)
            rows.withUnsafeMutableBufferPointer { p in
                for (r, s) in segmentIDs.enumerated() where sizes[s] > 1 {
                    let scale = 1 / Float(sizes[s])
                    for k in 0..<width { p[r &* width &+ k] *= scale }
                }
            }
            return [rows]
        }
    }

    /// Per-segment, per-column maximum of rows: [n, d…] → [segmentCount, d…]; empty segments give 0.
    /// Backward: the gradient goes to the first row attaining the maximum (nothing for empty segments).
    public func segmentMax(segmentIDs: [Int], segmentCount: Int) -> Variable {
        let inputShape = value.shape
        let (out, argmax) = value.segmentMax(segmentIDs: segmentIDs, segmentCount: segmentCount)
        return Variable(out, inputs: [self]) { g in
            let grad = Tensor(zeros: inputShape)
            let width = argmax.count / Swift.max(segmentCount, 1)
            let gp = g.storage.pointer, dst = grad.storage.pointer
            for s in 0..<segmentCount {
                for k in 0..<width {
                    let r = argmax[s &* width &+ k]
                    if r >= 0 { dst[r &* width &+ k] += gp[s &* width &+ k] }
                }
            }
            return [grad]
        }
    }

    /// `mask ? a : b` element-wise, `a` and `b` broadcast to a common shape, `mask` row-major in that
    /// shape. Backward: the gradient goes to `a` where the mask is true and to `b` elsewhere (summed
    /// back over broadcast axes).
    public static func `where`(_ mask: [Bool], _ a: Variable, _ b: Variable) -> Variable {
        let out = Tensor.where(mask, a.value, b.value)
        let aShape = a.shape, bShape = b.shape
        return Variable(out, inputs: [a, b]) { g in
            [a.requiresGrad ? g.maskedFill(mask.map { !$0 }, value: 0).sumToShape(aShape) : nil,
             b.requiresGrad ? g.maskedFill(mask, value: 0).sumToShape(bShape) : nil]
        }
    }

    /// `where` with a 0/1 (nonzero = true) mask tensor of the result's element count.
    public static func `where`(_ mask: Tensor, _ a: Variable, _ b: Variable) -> Variable {
        Variable.where(mask.maskBits, a, b)
    }

    /// `mask ? value : self` (row-major mask of `self.count` elements). The gradient is 0 at filled positions.
    public func maskedFill(_ mask: [Bool], value fill: Float) -> Variable {
        Variable(value.maskedFill(mask, value: fill), inputs: [self]) { g in [g.maskedFill(mask, value: 0)] }
    }

    /// `maskedFill` with a 0/1 (nonzero = true) mask tensor of `self.count` elements.
    public func maskedFill(_ mask: Tensor, value fill: Float) -> Variable {
        maskedFill(mask.maskBits, value: fill)
    }

    /// Inclusive cumulative sum along `axis` (`reverse` sums from the end). Same shape.
    /// Backward: the cumulative sum of the gradient in the opposite direction.
    public func cumsum(axis: Int, reverse: Bool = false) -> Variable {
        let ax = Shape.normalize(axis: axis, rank: rank)
        return Variable(value.cumsum(axis: ax, reverse: reverse), inputs: [self]) { g in
            [g.cumsum(axis: ax, reverse: !reverse)]
        }
    }

    /// Sorts along `axis` (stable; NaN largest). Returns the sorted values (same shape) and the source
    /// position along `axis` of each (row-major). Backward: gradients return to the source positions.
    public func sort(axis: Int = -1, descending: Bool = false) -> (values: Variable, indices: [Int]) {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let (values, indices) = value.sort(axis: ax, descending: descending)
        return (gatheredResult(values, axis: ax, indices: indices), indices)
    }

    /// The `k` largest (or smallest) elements along `axis`, best first, ties by lower index.
    /// Returns values (`shape[axis] = k`) and their source positions along `axis` (row-major).
    /// Backward: gradients return to the selected positions; the others get 0.
    public func topk(_ k: Int, axis: Int = -1, largest: Bool = true) -> (values: Variable, indices: [Int]) {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let (values, indices) = value.topk(k, axis: ax, largest: largest)
        return (gatheredResult(values, axis: ax, indices: indices), indices)
    }

    /// A result equal to `value.gather(axis:indices:)`, with the gather backward.
    private func gatheredResult(_ values: Tensor, axis: Int, indices: [Int]) -> Variable {
        let sourceShape = value.shape
        return Variable(values, inputs: [self]) { g in
            [g.scatterAdd(axis: axis, indices: indices, into: sourceShape)]
        }
    }
}
