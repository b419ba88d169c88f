import FlowTensor
import FlowAutodiff
import FlowNN
#if canImport(Glibc)
import Glibc
#endif

/// One NBFNet layer (`GeneralizedRelationalConv`, DistMult + PNA, as NBFNet's Cora config): the PNA
/// statistics F [n·B, 4d] of `pnaDistMultAggregate` are scaled by {1, s_v, 1/s_v} (s_v = log(R·deg + 1) over
/// its mean across nodes) and mapped together with the layer input by one linear layer of 13d inputs
/// (stored as four blocks), then layer norm, ReLU and the shortcut h + ·.
final class NBFLayer: Module {
    /// Relation vectors [R, d] (relation 0 and its inverse).
    let relations: Variable
    /// The 13d → d linear map as a block on the input [d, d] (+ bias) and blocks on the plain, degree-scaled
    /// and inverse-scaled PNA features stacked as one [3d, 4d] matrix.
    let selfWeight: Variable, bias: Variable, featureWeight: Variable
    let norm: LayerNorm

    init(dimension d: Int, relationCount: Int, rng: inout RandomGenerator) {
        relations = Variable(rng.normal([relationCount, d]), requiresGrad: true)
        let bound = 1 / Float(13 * d).squareRoot()   // torch's default init of Linear(13d, d)
        selfWeight = Variable(rng.uniform([d, d], low: -bound, high: bound), requiresGrad: true)
        featureWeight = Variable(rng.uniform([3 * d, 4 * d], low: -bound, high: bound), requiresGrad: true)
        bias = Variable(rng.uniform([d], low: -bound, high: bound), requiresGrad: true)
        norm = LayerNorm(d)
    }

    func callAsFunction(_ h: Variable, boundary: Variable, adjacency: CSRMatrix, batch: Int,
                        scale: [Float], inverseScale: [Float]) -> Variable {
        let f = pnaDistMultAggregate(h, relations: relations, boundary: boundary, adjacency: adjacency, batch: batch)
        let update = scaledCombine(linear(h, weight: selfWeight, bias: bias), linear(f, weight: featureWeight, bias: nil),
                                   scale: scale, inverseScale: inverseScale)
        return layerNormReLU(update, gamma: norm.gamma, beta: norm.beta, epsilon: norm.epsilon) + h
    }

    func namedParameters() -> [(name: String, parameter: Variable)] {
        [("relation", relations), ("linear.self", selfWeight), ("linear.bias", bias), ("linear.features", featureWeight)]
            + scoped("layer_norm", norm)
    }
}

/// Neural Bellman–Ford network for link prediction on a homogeneous graph (Zhu, Zhang, Xhonneux, Tang,
/// NeurIPS 2021) in its Cora configuration: a query embedding q [d] (relation 0) is the indicator boundary
/// condition of the source node u (h_v⁰ = 1[v = u]·q); `layers` NBF layers (DistMult messages over every edge
/// with one relation and its inverse, PNA aggregation including the boundary, degree scalers, linear, layer
/// norm, ReLU, shortcut); the score of (u, v) is MLP([h_v^T ‖ q]) with an MLP 2d → 2d → 1. No node features.
///
/// Batched: B sources run at once as one [n·B, d] state (row v·B + b), so the dense maps are single BLAS
/// products. Cost per batch ≈ T·(|E|·B·d + n·B·d²·17).
public final class NBFNet: Module {
    public let dimension: Int
    public let query: Variable
    let layers: [NBFLayer]
    let head: MLP

    public init(dimension: Int = 32, layers: Int = 6, rng: inout RandomGenerator) {
        precondition(dimension >= 1 && layers >= 1, "NBFNet: dimension and layers must be ≥ 1")
        self.dimension = dimension
        query = Variable(rng.normal([dimension]), requiresGrad: true)
        self.layers = (0..<layers).map { _ in NBFLayer(dimension: dimension, relationCount: 2, rng: &rng) }
        head = MLP(widths: [2 * dimension, 2 * dimension, 1], rng: &rng)
    }

    /// The degree scalers of `adjacency` for B runs: (s [n·B, 1], 1/max(s, 0.01) [n·B, 1]) with
    /// s_v = log(2·deg_v + 1) / mean_v log(2·deg_v + 1) (NBFNet's PNA: the message count includes the inverse
    /// relation and the boundary).
    static func scalers(_ adjacency: CSRMatrix, batch: Int) -> ([Float], [Float]) {
        let n = adjacency.rowCount
        let logs = (0..<n).map { logf(Float(2 * (adjacency.rowPointers[$0 + 1] - adjacency.rowPointers[$0]) + 1)) }
        let mean = Swift.max(logs.reduce(0, +) / Float(Swift.max(n, 1)), 1e-6)
        var s = [Float](repeating: 0, count: n * batch), inv = s
        for v in 0..<n {
            let value = logs[v] / mean
            for b in 0..<batch { s[v * batch + b] = value; inv[v * batch + b] = 1 / Swift.max(value, 0.01) }
        }
        return (s, inv)
    }

    /// Final node states [n·B, d] of the B runs started at `sources` on `adjacency` (0/1, symmetric, no self loops).
    public func representations(sources: [Int], adjacency: CSRMatrix) -> Variable {
        let n = adjacency.rowCount, batch = sources.count
        let q = query.reshaped([1, dimension])
        let boundary = q.indexSelect(axis: 0, indices: [Int](repeating: 0, count: batch))
            .scatterAdd(rowsInto: n * batch, indices: sources.enumerated().map { $0.element * batch + $0.offset })
        let (scale, inverseScale) = NBFNet.scalers(adjacency, batch: batch)
        var h = boundary
        for layer in layers {
            h = layer(h, boundary: boundary, adjacency: adjacency, batch: batch, scale: scale, inverseScale: inverseScale)
        }
        return h
    }

    /// Logits of (sources[b], target) for each (b, target) in `queries` (b indexes `sources`).
    public func logits(sources: [Int], queries: [(run: Int, target: Int)], adjacency: CSRMatrix) -> Variable {
        let batch = sources.count
        let h = representations(sources: sources, adjacency: adjacency)
        let rows = queries.map { $0.target * batch + $0.run }
        let q = query.reshaped([1, dimension]).indexSelect(axis: 0, indices: [Int](repeating: 0, count: rows.count))
        return head(Variable.concat([h.indexSelect(axis: 0, indices: rows), q], axis: 1)).reshaped([rows.count])
    }

    /// Scores (logits) of node pairs (u, v) — the run starts at u — on `adjacency`, `batch` sources at a time.
    public func scores(_ pairs: NodePairs, adjacency: CSRMatrix, batch: Int = 32) -> [Float] {
        var bySource: [Int: [Int]] = [:]
        for k in 0..<pairs.count { bySource[pairs.sources[k], default: []].append(k) }
        let sources = bySource.keys.sorted()
        var out = [Float](repeating: 0, count: pairs.count)
        withoutGradients {
            var start = 0
            while start < sources.count {
                let chunk = Array(sources[start..<Swift.min(start + Swift.max(batch, 1), sources.count)])
                start += chunk.count
                var queries: [(run: Int, target: Int)] = [], slots: [Int] = []
                for (b, u) in chunk.enumerated() { for k in bySource[u]! { queries.append((b, pairs.targets[k])); slots.append(k) } }
                let values = logits(sources: chunk, queries: queries, adjacency: adjacency).value.scalars
                for (i, k) in slots.enumerated() { out[k] = values[i] }
            }
        }
        return out
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        [("query", query)] + layers.enumerated().flatMap { scoped("layers.\($0.offset)", $0.element) } + scoped("mlp", head)
    }
}
