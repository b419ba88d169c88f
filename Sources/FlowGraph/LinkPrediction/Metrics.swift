/// Link-prediction metrics over positive and negative scores (OGB conventions).
public enum LinkMetrics {
    /// Hits@K with OGB's strict rule (`ogb.linkproppred.Evaluator`, issue snap-stanford/ogb#256): with t the
    /// K-th highest negative score, the fraction of positives whose score is **strictly greater** than t.
    /// Ties with t are misses. Throws `GraphError.invalid` when K < 1 or K exceeds the number of negatives.
    public static func hitsAtK(positive: [Float], negative: [Float], k: Int) throws -> Double {
        guard k >= 1 else { throw GraphError.invalid("K must be ≥ 1, got \(k)") }
        guard k <= negative.count else {
            throw GraphError.invalid("K = \(k) is larger than the number of negatives (\(negative.count))")
        }
        guard !positive.isEmpty else { throw GraphError.invalid("no positive scores") }
        try checkFinite(positive, negative)
        let threshold = negative.sorted(by: >)[k - 1]
        let hits = positive.reduce(0) { $0 + ($1 > threshold ? 1 : 0) }
        return Double(hits) / Double(positive.count)
    }

    /// Mean reciprocal rank of each positive among all negatives, OGB's tie rule:
    /// rank = 1 + #{neg > pos} + ½·#{neg = pos}.
    public static func meanReciprocalRank(positive: [Float], negative: [Float]) throws -> Double {
        guard !positive.isEmpty, !negative.isEmpty else { throw GraphError.invalid("MRR needs positive and negative scores") }
        try checkFinite(positive, negative)
        let sorted = negative.sorted()
        var total = 0.0
        for p in positive {
            let below = lowerBound(sorted, p), notAbove = upperBound(sorted, p)
            let greater = sorted.count - notAbove, equal = notAbove - below
            total += 1 / (1 + Double(greater) + 0.5 * Double(equal))
        }
        return total / Double(positive.count)
    }

    /// Area under the ROC curve: P(score_pos > score_neg) + ½·P(equal) over all pairs (Mann–Whitney U).
    public static func auroc(positive: [Float], negative: [Float]) throws -> Double {
        guard !positive.isEmpty, !negative.isEmpty else { throw GraphError.invalid("AUROC needs positive and negative scores") }
        try checkFinite(positive, negative)
        let sorted = negative.sorted()
        var total = 0.0
        for p in positive {
            let below = lowerBound(sorted, p), notAbove = upperBound(sorted, p)
            total += Double(below) + 0.5 * Double(notAbove - below)
        }
        return total / (Double(positive.count) * Double(negative.count))
    }

    /// Average precision (scikit-learn's `average_precision_score`): Σ_t (R_t − R_{t−1})·P_t over the distinct
    /// score thresholds t from the highest down, where P_t and R_t are the precision and recall of "score ≥ t"
    /// (tied scores enter together).
    public static func averagePrecision(positive: [Float], negative: [Float]) throws -> Double {
        guard !positive.isEmpty else { throw GraphError.invalid("AP needs positive scores") }
        try checkFinite(positive, negative)
        let all = (positive.map { ($0, true) } + negative.map { ($0, false) }).sorted { $0.0 > $1.0 }
        var tp = 0.0, fp = 0.0, previousRecall = 0.0, total = 0.0
        var i = 0
        while i < all.count {
            let t = all[i].0
            while i < all.count && all[i].0 == t { if all[i].1 { tp += 1 } else { fp += 1 }; i += 1 }
            let recall = tp / Double(positive.count)
            total += (recall - previousRecall) * tp / (tp + fp)
            previousRecall = recall
        }
        return total
    }

    static func checkFinite(_ a: [Float], _ b: [Float]) throws {
        if a.contains(where: { !$0.isFinite }) || b.contains(where: { !$0.isFinite }) {
            throw GraphError.nonFinite("scores contain NaN or ±inf")
        }
    }

    /// First index with sorted[i] ≥ x.
    static func lowerBound(_ sorted: [Float], _ x: Float) -> Int {
        var lo = 0, hi = sorted.count
        while lo < hi { let mid = (lo + hi) >> 1; if sorted[mid] < x { lo = mid + 1 } else { hi = mid } }
        return lo
    }

    /// First index with sorted[i] > x.
    static func upperBound(_ sorted: [Float], _ x: Float) -> Int {
        var lo = 0, hi = sorted.count
        while lo < hi { let mid = (lo + hi) >> 1; if sorted[mid] <= x { lo = mid + 1 } else { hi = mid } }
        return lo
    }
}
