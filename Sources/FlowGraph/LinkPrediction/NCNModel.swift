import FlowTensor
import FlowAutodiff
import FlowNN
#if canImport(Glibc)
import Glibc
#endif

/// The NCN node encoder as in the authors' code for the Planetoid graphs (`--model puregcn --mplayers L --jk
/// --use_xlin`): an input linear map followed by L parameter-free GCN propagations and a learnable jumping-knowledge
/// sum,
///
///     h₀ = drop_g(drop_x(X) W + b),  h_l = Â h_{l−1},  out = Σ_l j_l · h̃_l,
///
/// where h̃_l = h_l except for the last layer, which gets the tail dropout (h̃_L = drop_t(h_L)), and j ~ N(0, 1)
/// at initialisation. There is no non-linearity and no layer norm in this encoder (the authors' `--ln` flag only
/// acts on non-"pure" convolutions).
final class NCNEncoder: Module {
    let weight: Variable
    let bias: Variable
    let jk: [Variable]

    init(inFeatures: Int, hidden: Int, propagations: Int, rng: inout RandomGenerator) {
        weight = Variable(Initializer.torchLinearDefault.make([hidden, inFeatures], rng: &rng), requiresGrad: true)
        let bound = 1 / Float(Swift.max(inFeatures, 1)).squareRoot()
        bias = Variable(rng.uniform([hidden], low: -bound, high: bound), requiresGrad: true)
        jk = (0..<Swift.max(propagations, 1)).map { _ in Variable(rng.normal([1]), requiresGrad: true) }
    }

    /// Node embeddings [n, hidden] on the normalised operator `op` (Â of the message-passing graph).
    func callAsFunction(_ x: NodeInput, operator op: CSRMatrix, inputDropout: Float, hiddenDropout: Float,
                        tailDropout: Float, training: Bool, rng: inout RandomGenerator) -> Variable {
        var input = x
        if training, inputDropout > 0 {
            switch x {
            case .sparse(let m): input = .sparse(sparseDropout(m, probability: inputDropout, rng: &rng))
            case .dense(let v): input = .dense(Dropout(probability: inputDropout)(v, training: true, rng: &rng))
            }
        }
        var h = Dropout(probability: hiddenDropout)(input.project(weight) + bias, training: training, rng: &rng)
        var out: Variable?
        for l in 0..<jk.count {
            h = spmm(op, h)
            if l == jk.count - 1 { h = Dropout(probability: tailDropout)(h, training: training, rng: &rng) }
            let term = h * jk[l]
            out = out.map { $0 + term } ?? term
        }
        return out!
    }

    func namedParameters() -> [(name: String, parameter: Variable)] {
        [("xemb.weight", weight), ("xemb.bias", bias)] + jk.enumerated().map { ("jk.\($0.offset)", $0.element) }
    }
}

/// Settings of the NCN/NCNC score head for one call.
struct NCNHeadSettings {
    var dropout: Float
    /// Probability of dropping each stored entry of the adjacency before common neighbours are taken (training).
    var edgeDropout: Float
    var training: Bool
    /// NCNC only: 1 completes common neighbours with an inner NCN, 0 is plain NCN.
    var depth: Int
    /// NCNC candidate sub-sampling: at most this many candidates per pair and side (0 = all).
    var candidateDegree: Int
    /// NCNC recalibration p̃ = α·pt·σ(s(p−o)) / (pt·σ(s(p−o)) + 1 − σ(s(p−o))).
    var scale: Float, offset: Float, alpha: Float, prior: Float
}

/// The NCN score head (Wang et al. 2023, `CNLinkPredictor` with `--use_xlin --tailact --lnnn`) and its NCNC
/// extension (`IncompleteCN1Predictor`):
///
///     x' = x + xlin(x),                      xlin = Lin → Drop → ReLU → Lin → LN → Drop → ReLU
///     s(i, j) = lin( β · xcnlin(Σ_{u∈C(i,j)} w_u x'_u) + xijlin(x_i ⊙ x_j) )
///     xcnlin = Lin → Drop → ReLU → Lin → LN → Drop → ReLU,  xijlin = Lin → LN → Drop → ReLU,
///     lin = Lin → LN → Drop → ReLU → Lin(→1)
///
/// NCN: C = N(i) ∩ N(j) with w = 1. NCNC adds u ∈ N(i)∖N(j) with w = p̃(j, u) and u ∈ N(j)∖N(i) with w = p̃(i, u),
/// where p̃ is the recalibrated probability from the same head at depth 0 (no gradient; fed x' as its node
/// states, as in the authors' code).
final class NCNHead: Module {
    let xlin1: Linear, xlin2: Linear, xlinNorm: LayerNorm
    let xcn1: Linear, xcn2: Linear, xcnNorm: LayerNorm
    let xij1: Linear, xijNorm: LayerNorm
    let lin1: Linear, linNorm: LayerNorm, lin2: Linear
    let beta: Variable

    init(hidden: Int, rng: inout RandomGenerator) {
        xlin1 = Linear(hidden, hidden, rng: &rng); xlin2 = Linear(hidden, hidden, rng: &rng); xlinNorm = LayerNorm(hidden)
        xcn1 = Linear(hidden, hidden, rng: &rng); xcn2 = Linear(hidden, hidden, rng: &rng); xcnNorm = LayerNorm(hidden)
        xij1 = Linear(hidden, hidden, rng: &rng); xijNorm = LayerNorm(hidden)
        lin1 = Linear(hidden, hidden, rng: &rng); linNorm = LayerNorm(hidden); lin2 = Linear(hidden, 1, rng: &rng)
        beta = Variable(Tensor(shape: [1], repeating: 1), requiresGrad: true)
    }

    func namedParameters() -> [(name: String, parameter: Variable)] {
        scoped("xlin.0", xlin1) + scoped("xlin.3", xlin2) + scoped("xlin.4", xlinNorm)
            + scoped("xcnlin.0", xcn1) + scoped("xcnlin.3", xcn2) + scoped("xcnlin.4", xcnNorm)
            + scoped("xijlin.0", xij1) + scoped("xijlin.1", xijNorm)
            + scoped("lin.0", lin1) + scoped("lin.1", linNorm) + scoped("lin.8", lin2) + [("beta", beta)]
    }

    /// xlin(x) = ReLU(Drop(LN(Lin(ReLU(Drop(Lin(x))))))), row-wise.
    func xlin(_ x: Variable, _ s: NCNHeadSettings, _ rng: inout RandomGenerator) -> Variable {
        let drop = Dropout(probability: s.dropout)
        let hidden = drop(xlin1(x), training: s.training, rng: &rng).relu()
        return drop(xlinNorm(xlin2(hidden)), training: s.training, rng: &rng).relu()
    }

    /// Logits [pairs.count] of `pairs` from node states `x` [n, hidden], common neighbours taken in `adjacency`
    /// (rows sorted; it may be non-symmetric after edge dropout).
    func callAsFunction(_ x: Variable, _ pairs: NodePairs, adjacency: CSRMatrix, settings s: NCNHeadSettings,
                        rng: inout RandomGenerator) -> Variable {
        let drop = Dropout(probability: s.dropout)
        let adj = s.training && s.edgeDropout > 0 ? droppingEntries(adjacency, probability: s.edgeDropout, rng: &rng) : adjacency
        let xij = x.indexSelect(axis: 0, indices: pairs.sources) * x.indexSelect(axis: 0, indices: pairs.targets)
        let xcnAggregated: Variable
        if s.depth > 0 {
            let xPrime = x + xlin(x, s, &rng)
            let parts = commonNeighborParts(pairs, adjacency: adj, candidateDegree: s.candidateDegree, rng: &rng)
            var inner = s
            inner.depth = s.depth - 1
            let detached = xPrime.detached()
            func probabilities(_ q: NodePairs) -> [Float] {
                q.count == 0 ? [] : withoutGradients { self(detached, q, adjacency: adj, settings: inner, rng: &rng).value.scalars }
            }
            let p1 = probabilities(parts.firstPairs), p2 = probabilities(parts.secondPairs)
            let completed = parts.completed(firstLogits: p1, secondLogits: p2) { logit in
                let p0 = 1 / (1 + expf(-s.scale * (logit - s.offset)))
                return s.alpha * s.prior * p0 / (s.prior * p0 + 1 - p0)
            }
            xcnAggregated = spmm(completed, xPrime)
        } else {
            // x' = x + xlin(x) is row-wise, so it is computed only for the nodes that are common neighbours of
            // some pair of the batch (the authors compute it for every node; the result is the same).
            let (compressed, used) = commonNeighborMatrix(pairs, adjacency: adj).compressingColumns()
            if used.isEmpty {
                xcnAggregated = Variable(Tensor(zeros: [pairs.count, x.shape[1]]))
            } else {
                let xUsed = x.indexSelect(axis: 0, indices: used)
                xcnAggregated = spmm(compressed, xUsed + xlin(xUsed, s, &rng))
            }
        }
        var cn = drop(xcn1(xcnAggregated), training: s.training, rng: &rng).relu()
        cn = drop(xcnNorm(xcn2(cn)), training: s.training, rng: &rng).relu()
        let pair = drop(xijNorm(xij1(xij)), training: s.training, rng: &rng).relu()
        let mixed = cn * beta + pair
        let out = lin2(drop(linNorm(lin1(mixed)), training: s.training, rng: &rng).relu())
        return out.reshaped([pairs.count])
    }
}
