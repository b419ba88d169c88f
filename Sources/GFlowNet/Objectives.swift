import FlowTensor
import FlowAutodiff

/// The regression penalty applied to each balance residual δ (torchgfn's `loss_fn` plug-in).
public struct RegressionPenalty {
    /// Name used in checkpoints and messages.
    public let name: String
    /// Element-wise penalty ℓ(δ).
    public let apply: (Variable) -> Variable

    public init(name: String, apply: @escaping (Variable) -> Variable) {
        self.name = name
        self.apply = apply
    }

    /// ℓ(δ) = δ² (the default of every objective).
    public static let squared = RegressionPenalty(name: "squared") { $0 * $0 }
    /// ℓ(δ) = δ²/2.
    public static let halfSquared = RegressionPenalty(name: "half_squared") { $0 * $0 * 0.5 }
    /// ℓ(δ) = cosh(δ) − 1 = (e^δ + e^−δ)/2 − 1 (shifted cosh).
    public static let shiftedCosh = RegressionPenalty(name: "shifted_cosh") { d in
        (d.exp() + (-d).exp()) * 0.5 - 1
    }
}

/// Per-step log-probabilities of a batch of B complete trajectories, time-major and zero-padded.
///
/// Trajectory b has `lengths[b]` = n transitions s₀ → … → s_{n−1} = x → s_f, the last being exit.
/// - `logPF[t, b]` = log P_F(s_{t+1} | s_t) for t < n (t = n−1 is the exit probability), 0 after.
/// - `logPB[t, b]` = log P_B(s_t | s_{t+1}) for t < n−1; 0 for the exit transition and after.
/// - `logF[t, b]` = log F(s_t) for t < n (optional; DB and SubTB need it), 0 after.
/// - `logRewards[b]` = log R(x_b).
public struct TrajectoryLogProbabilities {
    public var logPF: Variable
    public var logPB: Variable
    public var logF: Variable?
    public var lengths: [Int]
    public var logRewards: Tensor

    public init(logPF: Variable, logPB: Variable, logF: Variable? = nil, lengths: [Int], logRewards: Tensor) {
        precondition(logPF.rank == 2 && logPB.shape == logPF.shape, "logPF and logPB must both be [T, B]")
        precondition(logF == nil || logF!.shape == logPF.shape, "logF must be [T, B]")
        precondition(lengths.count == logPF.shape[1] && logRewards.count == lengths.count,
                     "lengths and logRewards need one entry per trajectory")
        precondition(lengths.allSatisfy { $0 >= 1 && $0 <= logPF.shape[0] }, "lengths must be in 1…T")
        self.logPF = logPF; self.logPB = logPB; self.logF = logF
        self.lengths = lengths; self.logRewards = logRewards
    }

    public var maxLength: Int { logPF.shape[0] }
    public var batchSize: Int { logPF.shape[1] }

    /// Σ_t log P_F − Σ_t log P_B per trajectory → [B].
    func logRatio() -> Variable { (logPF - logPB).sum(axis: 0) }

    /// F′(s_j) for j = 0…T: log F(s_j) for j < n_b, log R(x_b) at j = n_b (the sink), 0 after → [T+1, B].
    func targetFlows() -> Variable {
        let t = maxLength, b = batchSize
        guard let logF else { preconditionFailure("this objective needs logF") }
        let padded = Variable.concat([logF, Variable(Tensor(zeros: [1, b]))], axis: 0)
        var isSink = [Bool](repeating: false, count: (t + 1) * b)
        for (i, n) in lengths.enumerated() { isSink[n * b + i] = true }
        return Variable.where(isSink, Variable(logRewards.reshaped([1, b])), padded)
    }
}

/// Trajectory balance (Malkin et al. 2022, eq. 14): δ_b = log Z + Σ log P_F − log R(x_b) − Σ log P_B;
/// loss = mean_b ℓ(δ_b). `logZ` is a scalar or [1] parameter.
public func trajectoryBalanceLoss(_ lp: TrajectoryLogProbabilities, logZ: Variable,
                                  penalty: RegressionPenalty = .squared) -> Variable {
    let b = lp.batchSize
    let delta = lp.logRatio() + logZ.reshaped([1]) - Variable(lp.logRewards.reshaped([b]))
    return penalty.apply(delta).mean()
}

/// Log-partition variance / VarGrad (Zhang et al. 2023): ζ_b = Σ log P_F − Σ log P_B − log R(x_b),
/// δ_b = ζ_b − mean ζ; loss = mean_b ℓ(δ_b). No log Z parameter (−mean ζ estimates log Z).
public func logPartitionVarianceLoss(_ lp: TrajectoryLogProbabilities,
                                     penalty: RegressionPenalty = .squared) -> Variable {
    let zeta = lp.logRatio() - Variable(lp.logRewards.reshaped([lp.batchSize]))
    let delta = zeta - zeta.mean()
    return penalty.apply(delta).mean()
}

/// Detailed balance (Bengio et al. 2023, torchgfn `DBGFlowNet`): for each transition t < n_b,
/// δ = log F(s_t) + log P_F(s_{t+1}|s_t) − log F(s_{t+1}) − log P_B(s_t|s_{t+1}), where for the exit
/// transition log F(s_f) := log R(x) and log P_B := 0. Loss = mean of ℓ(δ) over all transitions.
public func detailedBalanceLoss(_ lp: TrajectoryLogProbabilities,
                                penalty: RegressionPenalty = .squared) -> Variable {
    let t = lp.maxLength, b = lp.batchSize
    let flows = lp.targetFlows()                       // [T+1, B]
    let next = flows.slice(axis: 0, start: 1, end: t + 1)
    let delta = lp.logF! + lp.logPF - lp.logPB - next  // [T, B]
    var mask = [Float](repeating: 0, count: t * b)
    var transitions = 0
    for (i, n) in lp.lengths.enumerated() {
        for s in 0..<n { mask[s * b + i] = 1 }
        transitions += n
    }
    let weights = Variable(Tensor(shape: [t, b], scalars: mask))
    return (penalty.apply(delta) * weights).sum() * (1 / Float(transitions))
}

/// Sub-trajectory balance (Madan et al. 2023) with torchgfn's default "geometric_within" weighting.
/// For every pair 0 ≤ i < j ≤ n_b of positions of trajectory b (position n_b is the sink):
///   δ_ij = log F(s_i) + Σ_{k=i}^{j−1} (log P_F_k − log P_B_k) − F′(s_j),  F′(s_j) = log F(s_j), F′(s_n) = log R(x),
/// weighted by λ^{j−i−1} / Σ_{m=0}^{n−1} (n−m) λ^m (weights of one trajectory sum to 1);
/// loss = (1/B) Σ_b Σ_{i<j} w_ij ℓ(δ_ij). λ ∈ (0, 1]; λ → 0 approaches DB-like, λ = 1 weights all equally.
public func subTrajectoryBalanceLoss(_ lp: TrajectoryLogProbabilities, lambda: Float,
                                     penalty: RegressionPenalty = .squared) -> Variable {
    precondition(lambda > 0 && lambda <= 1, "SubTB needs λ in (0, 1]")
    let t = lp.maxLength, b = lp.batchSize
    let flows = lp.targetFlows()                                        // F′ [T+1, B]
    let steps = (lp.logPF - lp.logPB).cumsum(axis: 0)                    // c_1…c_T
    let c = Variable.concat([Variable(Tensor(zeros: [1, b])), steps], axis: 0)  // c_0…c_T [T+1, B]
    let start = Variable.concat([lp.logF!, Variable(Tensor(zeros: [1, b]))], axis: 0) - c  // log F_i − c_i
    let end = c - flows                                                  // c_j − F′_j
    let delta = start.reshaped([t + 1, 1, b]) + end.reshaped([1, t + 1, b])  // [i, j, b]
    return (penalty.apply(delta) * subTrajectoryWeights(lengths: lp.lengths, maxLength: t, lambda: lambda)).sum()
}

/// SubTB's within-trajectory geometric weights `[T+1, T+1, B]`: the pair (i, j), 0 ≤ i < j ≤ n_b, of
/// trajectory b (n_b = `lengths[b]`) gets λ^{j−i−1}, normalised so that each trajectory's weights sum to
/// 1/B; trajectories of length 0 and pairs beyond n_b get 0.
func subTrajectoryWeights(lengths: [Int], maxLength t: Int, lambda: Float) -> Variable {
    let b = lengths.count
    var w = [Float](repeating: 0, count: (t + 1) * (t + 1) * b)
    var powers = [Float](repeating: 1, count: t + 1)
    for k in stride(from: 1, through: t, by: 1) { powers[k] = powers[k - 1] * lambda }
    for (bi, n) in lengths.enumerated() where n > 0 {
        var norm: Float = 0
        for m in 0..<n { norm += Float(n - m) * powers[m] }
        let scale = 1 / (norm * Float(b))
        for i in 0..<n {
            for j in (i + 1)...n { w[(i * (t + 1) + j) * b + bi] = powers[j - i - 1] * scale }
        }
    }
    return Variable(Tensor(shape: [t + 1, t + 1, b], scalars: w))
}

/// Flow matching (Bengio et al. 2021; torchgfn `FMGFlowNet` form) on M visited non-initial states s′:
///   δ_flow(s′) = log Σ_{(s→s′)} F(s→s′) − log Σ_{a valid at s′} F(s′, a)   (exit edge included),
/// and on K terminating states x: δ_R(x) = log F(x → s_f) − log R(x).
/// Loss = mean ℓ(δ_flow) + mean ℓ(δ_R) (a mean over zero items counts 0).
/// - Parameters:
///   - inflow: edge log-flows into each s′ from its parents `[M, P]`, valid where `inflowMask`.
///   - outflow: edge log-flows out of each s′ `[M, A]`, valid where `outflowMask`.
///   - exitLogFlows: log F(x → s_f) `[K]`; `logRewards`: log R(x) `[K]`.
public func flowMatchingLoss(inflow: Variable, inflowMask: [Bool], outflow: Variable, outflowMask: [Bool],
                             exitLogFlows: Variable, logRewards: Tensor,
                             penalty: RegressionPenalty = .squared) -> Variable {
    var total: Variable? = nil
    if inflow.shape[0] > 0 {
        let lin = inflow.maskedFill(inflowMask.map { !$0 }, value: -.infinity).logSumExp(axis: 1)
        let lout = outflow.maskedFill(outflowMask.map { !$0 }, value: -.infinity).logSumExp(axis: 1)
        total = penalty.apply(lin - lout).mean()
    }
    if exitLogFlows.value.count > 0 {
        let r = penalty.apply(exitLogFlows - Variable(logRewards.reshaped(exitLogFlows.shape))).mean()
        total = total.map { $0 + r } ?? r
    }
    return total ?? Variable(Tensor(0))
}
