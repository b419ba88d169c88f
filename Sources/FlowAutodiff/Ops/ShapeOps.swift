import FlowTensor

extension Variable {
    /// Same elements, new shape.
    public func reshaped(_ newShape: [Int]) -> Variable {
        let shape = value.shape
        return Variable(value.reshaped(newShape), inputs: [self]) { g in [g.reshaped(shape)] }
    }

    /// Reorders axes (result axis i = input axis permutation[i]).
    public func permuted(_ permutation: [Int]) -> Variable {
        var inverse = [Int](repeating: 0, count: permutation.count)
        for (i, p) in permutation.enumerated() where p >= 0 && p < permutation.count { inverse[p] = i }
        return Variable(value.permuted(permutation), inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps the last two axes.
    public func transposed() -> Variable {
        var p = Array(0..<rank); p.swapAt(rank - 1, rank - 2)
        return permuted(p)
    }

    /// Elements start..<end along `axis`.
    public func slice(axis: Int, start: Int, end: Int) -> Variable {
        let ax = Shape.normalize(axis: axis, rank: rank)
        let full = shape[ax]
        return Variable(value.slice(axis: ax, start: start, end: end), inputs: [self]) { g in
            [g.paddedSlice(axis: ax, start: start, fullExtent: full)]
        }
    }

    /// Concatenation along `axis`.
    public static func concat(_ parts: [Variable], axis: Int) -> Variable {
        let ax = Shape.normalize(axis: axis, rank: parts[0].rank)
        let extents = parts.map { $0.shape[ax] }
        return Variable(Tensor.concat(parts.map(\.value), axis: ax), inputs: parts) { g in
            var start = 0
            return extents.map { n in
                defer { start += n }
                return g.slice(axis: ax, start: start, end: start + n)
            }
        }
    }

    /// Stack along a new axis.
    public static func stack(_ parts: [Variable], axis: Int) -> Variable {
        let ax = Shape.normalize(axis: axis, rank: parts[0].rank + 1)
        var expanded = parts[0].shape; expanded.insert(1, at: ax)
        return concat(parts.map { $0.reshaped(expanded) }, axis: ax)
    }
}
