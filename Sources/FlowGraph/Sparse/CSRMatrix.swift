import FlowTensor

/// A sparse matrix in compressed sparse row form: row `i` holds the entries
/// `columnIndices[rowPointers[i] ..< rowPointers[i+1]]` (sorted, unique) with `values` alongside.
///
/// A class so that its transpose (needed by the SpMM backward of non-symmetric matrices) is built
/// once and cached. Immutable after construction except for that cache, which is filled on first use of
/// `transposed`: do not call it on one instance from several threads at once (each model owns its matrices).
public final class CSRMatrix: @unchecked Sendable {
    /// Number of rows.
    public let rowCount: Int
    /// Number of columns.
    public let columnCount: Int
    /// Row offsets, `rowCount + 1` entries, non-decreasing, `rowPointers[0] == 0`.
    public let rowPointers: [Int]
    /// Column of each stored entry, sorted within a row.
    public let columnIndices: [Int]
    /// Value of each stored entry.
    public let values: [Float]
    /// True when the matrix is known to equal its transpose (then SpMM's backward reuses it).
    public let isSymmetric: Bool
    private var cachedTranspose: CSRMatrix?

    /// Number of stored entries.
    public var nonZeroCount: Int { columnIndices.count }

    /// A matrix from already-valid CSR arrays (not re-checked: use `init(rows:columns:entries:)` for
    /// untrusted input).
    public init(rowCount: Int, columnCount: Int, rowPointers: [Int], columnIndices: [Int], values: [Float],
                isSymmetric: Bool = false) {
        precondition(rowPointers.count == rowCount + 1 && columnIndices.count == values.count
                     && rowPointers.last == columnIndices.count, "CSRMatrix: inconsistent arrays")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
        self.isSymmetric = isSymmetric
    }

    /// A matrix from coordinate entries (row, column, value); duplicates are summed. Indices must be
    /// in range (precondition).
    public convenience init(rowCount: Int, columnCount: Int, rows: [Int], columns: [Int], values: [Float],
                            isSymmetric: Bool = false) {
        precondition(rows.count == columns.count && rows.count == values.count, "CSRMatrix: entry arrays differ in length")
        // Counting sort by row, then sort each row by column and merge duplicates.
        var counts = [Int](repeating: 0, count: rowCount + 1)
        for r in rows {
            precondition(r >= 0 && r < rowCount, "CSRMatrix: row \(r) outside 0..<\(rowCount)")
            counts[r &+ 1] &+= 1
        }
        for i in 0..<rowCount { counts[i &+ 1] &+= counts[i] }
        var next = counts
        var order = [Int](repeating: 0, count: rows.count)
        for (k, r) in rows.enumerated() { order[next[r]] = k; next[r] &+= 1 }
        var pointers = [Int](repeating: 0, count: rowCount + 1)
        var cols: [Int] = []; cols.reserveCapacity(rows.count)
        var vals: [Float] = []; vals.reserveCapacity(rows.count)
        var rowEntries: [(Int, Float)] = []
        for i in 0..<rowCount {
            rowEntries.removeAll(keepingCapacity: true)
            for k in counts[i]..<counts[i &+ 1] {
                let c = columns[order[k]]
                precondition(c >= 0 && c < columnCount, "CSRMatrix: column \(c) outside 0..<\(columnCount)")
                rowEntries.append((c, values[order[k]]))
            }
            rowEntries.sort { $0.0 < $1.0 }
            for (c, v) in rowEntries {
                if let last = cols.last, cols.count > pointers[i], last == c { vals[vals.count - 1] += v }
                else { cols.append(c); vals.append(v) }
            }
            pointers[i &+ 1] = cols.count
        }
        self.init(rowCount: rowCount, columnCount: columnCount, rowPointers: pointers, columnIndices: cols,
                  values: vals, isSymmetric: isSymmetric)
    }

    /// The transpose (cached; `self` when symmetric).
    public var transposed: CSRMatrix {
        if isSymmetric { return self }
        if let t = cachedTranspose { return t }
        var rows = [Int](repeating: 0, count: nonZeroCount)
        for i in 0..<rowCount { for k in rowPointers[i]..<rowPointers[i &+ 1] { rows[k] = i } }
        let t = CSRMatrix(rowCount: columnCount, columnCount: rowCount, rows: columnIndices, columns: rows, values: values)
        cachedTranspose = t
        return t
    }

    /// The row index of every stored entry (the "target" of each edge in message passing).
    public func entryRows() -> [Int] {
        var rows = [Int](repeating: 0, count: nonZeroCount)
        for i in 0..<rowCount { for k in rowPointers[i]..<rowPointers[i &+ 1] { rows[k] = i } }
        return rows
    }

    /// The dense [rowCount, columnCount] matrix (tests and small graphs).
    public func dense() -> Tensor {
        var t = Tensor(zeros: [rowCount, columnCount])
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<rowCount {
                for k in rowPointers[i]..<rowPointers[i &+ 1] { p[i &* columnCount &+ columnIndices[k]] += values[k] }
            }
        }
        return t
    }

    /// A copy with each row scaled to sum to 1 (rows summing to 0 are left as they are).
    public func rowNormalized() -> CSRMatrix {
        var vals = values
        for i in 0..<rowCount {
            var s: Float = 0
            for k in rowPointers[i]..<rowPointers[i &+ 1] { s += vals[k] }
            if s != 0 { for k in rowPointers[i]..<rowPointers[i &+ 1] { vals[k] /= s } }
        }
        return CSRMatrix(rowCount: rowCount, columnCount: columnCount, rowPointers: rowPointers,
                         columnIndices: columnIndices, values: vals)
    }

    /// y += a·x over `count` floats, eight lanes at a time.
    @inline(__always)
    static func axpy(rp a: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        let av = SIMD8<Float>(repeating: a)
        var j = 0
        while j &+ 8 <= count {
            let xv = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self)
            let yv = UnsafeRawPointer(y + j).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + j).storeBytes(of: yv + av * xv, as: SIMD8<Float>.self)
            j &+= 8
        }
        while j < count { y[j] += a * x[j]; j &+= 1 }
    }

    /// Sparse × dense: self [rowCount, columnCount] · x [columnCount, d] → [rowCount, d].
    public func multiply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 2 && x.shape[0] == columnCount,
                     "CSRMatrix.multiply: matrix is [\(rowCount), \(columnCount)], dense operand \(x.shape)")
        let d = x.shape[1]
        let out = Tensor(zeros: [rowCount, d])
        let src = x.storage.pointer, dst = out.storage.pointer
        rowPointers.withUnsafeBufferPointer { rp in columnIndices.withUnsafeBufferPointer { cp in
            values.withUnsafeBufferPointer { vp in
                for i in 0..<rowCount {
                    let o = dst + i &* d
                    for k in rp[i]..<rp[i &+ 1] {
                        CSRMatrix.axpy(rp: vp[k], x: src + cp[k] &* d, y: o, count: d)
                    }
                }
            }
        } }
        return withExtendedLifetime(x) { out }
    }
}
