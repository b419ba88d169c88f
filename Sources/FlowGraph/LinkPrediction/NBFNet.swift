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
/// NeurIPS 2021) as the authors configure it for Cora (`config/homogeneous_graph/cora.yaml`): a query embedding
/// q [d] is the indicator boundary condition of the source node u (h_v⁰ = 1[v = u]·q); `layers` NBF layers
/// (DistMult messages over every edge of the given adjacency — callers add self loops, as the authors'
/// `as_relational_graph` does — PNA aggregation including the boundary, degree scalers, linear, layer norm,
/// ReLU, shortcut); the score of (u, v) is MLP([h_v ‖ q]) with an MLP 2d → 2d → 1, or with `symmetric`
/// scoring MLP([(h_v^{(u)} + h_u^{(v)})/2 ‖ q]) from the runs started at both ends. No node features.
/// `relations` = 1 is the authors' homogeneous setting (one relation, both edge directions); 2 adds a
/// separate inverse relation on every edge.
///
/// Batched: B sources run at once as one [n·B, d] state (row v·B + b), so the dense maps are single BLAS
/// products. Cost per batch ≈ T·(|E|·B·d + n·B·d²·17).
public final class NBFNet: Module {
    public let dimension: Int
    public let query: Variable
    let layers: [NBFLayer]
    let head: MLP

    public init(dimension: Int = 32, layers: Int = 6, relations: Int = 1, rng: inout RandomGenerator) {
        precondition(dimension >= 1 && layers >= 1 && (1...2).contains(relations), "NBFNet: dimension and layers ≥ 1, relations 1 or 2")
        self.dimension = dimension
        query = Variable(rng.normal([dimension]), requiresGrad: true)
        self.layers = (0..<layers).map { _ in NBFLayer(dimension: dimension, relationCount: relations, rng: &rng) }
        head = MLP(widths: [2 * dimension, 2 * dimension, 1], rng: &rng)
    }

    /// The degree scalers of `adjacency` for B runs: (s [n·B, 1], 1/max(s, 0.01) [n·B, 1]) with
    /// s_v = log(R·deg_v + 1) / mean_v log(R·deg_v + 1) (NBFNet's PNA: the message count over the R relations
    /// plus the boundary).
    static func scalers(_ adjacency: CSRMatrix, batch: Int, relations: Int) -> ([Float], [Float]) {
        let n = adjacency.rowCount
        let logs = (0..<n).map { logf(Float(relations * (adjacency.rowPointers[$0 + 1] - adjacency.rowPointers[$0]) + 1)) }
        let mean = Swift.max(logs.reduce(0, +) / Float(Swift.max(n, 1)), 1e-6)
        var s = [Float](repeating: 0, count: n * batch), inv = s
        for v in 0..<n {
            let value = logs[v] / mean
            for b in 0..<batch { s[v * batch + b] = value; inv[v * batch + b] = 1 / Swift.max(value, 0.01) }
        }
        return (s, inv)
    }

    /// Final node states [n·B, d] of the B runs started at `sources` on `adjacency` (0/1 pattern, symmetric).
    public func representations(sources: [Int], adjacency: CSRMatrix) -> Variable {
        let n = adjacency.rowCount, batch = sources.count
        let q = query.reshaped([1, dimension])
        let boundary = q.indexSelect(axis: 0, indices: [Int](repeating: 0, count: batch))
            .scatterAdd(rowsInto: n * batch, indices: sources.enumerated().map { $0.element * batch + $0.offset })
        let (scale, inverseScale) = NBFNet.scalers(adjacency, batch: batch, relations: layers[0].relations.shape[0])
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
        return score(h.indexSelect(axis: 0, indices: queries.map { $0.target * batch + $0.run }))
    }

    /// The score head: MLP([features ‖ q]) for node states [rows, d] → logits [rows].
    public func score(_ features: Variable) -> Variable {
        let rows = features.shape[0]
        let q = query.reshaped([1, dimension]).indexSelect(axis: 0, indices: [Int](repeating: 0, count: rows))
        return head(Variable.concat([features, q], axis: 1)).reshaped([rows])
    }

    /// Logits of the node pairs (u, v): one run per distinct u (and per distinct v when `symmetric`, whose
    /// features are averaged with the forward ones, as NBFNet's `symmetric: yes`), all in one batch.
    public func pairLogits(_ pairs: NodePairs, adjacency: CSRMatrix, symmetric: Bool) -> Variable {
        var runOf: [Int: Int] = [:], sources: [Int] = []
        func run(_ u: Int) -> Int {
            if let r = runOf[u] { return r }
            runOf[u] = sources.count; sources.append(u)
            return sources.count - 1
        }
        let forwardRuns = pairs.sources.map(run)
        let backwardRuns = symmetric ? pairs.targets.map(run) : []
        let batch = sources.count
        let h = representations(sources: sources, adjacency: adjacency)
        var features = h.indexSelect(axis: 0, indices: (0..<pairs.count).map { pairs.targets[$0] * batch + forwardRuns[$0] })
        if symmetric {
            let reverse = h.indexSelect(axis: 0, indices: (0..<pairs.count).map { pairs.sources[$0] * batch + backwardRuns[$0] })
            features = (features + reverse) * 0.5
        }
        return score(features)
    }

    /// Scores (logits) of node pairs (u, v) on `adjacency` without gradients, in chunks of at most `batch`
    /// Bellman–Ford runs (pairs sorted by u so chunks share sources).
    public func scores(_ pairs: NodePairs, adjacency: CSRMatrix, batch: Int = 32, symmetric: Bool = false) -> [Float] {
        let order = (0..<pairs.count).sorted { (pairs.sources[$0], pairs.targets[$0], $0) < (pairs.sources[$1], pairs.targets[$1], $1) }
        var out = [Float](repeating: 0, count: pairs.count)
        let limit = Swift.max(batch, 2)
        withoutGradients {
            var chunk = NodePairs(), slots: [Int] = [], runs = Set<Int>()
            func flush() {
                guard chunk.count > 0 else { return }
                let values = pairLogits(chunk, adjacency: adjacency, symmetric: symmetric).value.scalars
                for (i, k) in slots.enumerated() { out[k] = values[i] }
                chunk = NodePairs(); slots = []; runs = []
            }
            for k in order {
                let u = pairs.sources[k], v = pairs.targets[k]
                let added = (runs.contains(u) ? 0 : 1) + (symmetric && !runs.contains(v) && u != v ? 1 : 0)
                if runs.count + added > limit { flush() }
                runs.insert(u); if symmetric { runs.insert(v) }
                chunk.sources.append(u); chunk.targets.append(v); slots.append(k)
            }
            flush()
        }
        return out
    }

    public func namedParameters() -> [(name: String, parameter: Variable)] {
        [("query", query)] + layers.enumerated().flatMap { scoped("layers.\($0.offset)", $0.element) } + scoped("mlp", head)
    }
}
