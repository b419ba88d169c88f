import FlowTensor
import FlowAutodiff

/// An objective evaluated on log-probabilities produced by an outside model (external-policy mode).
public enum ExternalPolicyObjective: Equatable, Sendable {
    /// Trajectory balance with the given log Z (its gradient is returned too).
    case trajectoryBalance(logZ: Float)
    /// Detailed balance (needs log F).
    case detailedBalance
    /// Sub-trajectory balance with geometric-within weighting λ ∈ (0, 1] (needs log F).
    case subTrajectoryBalance(lambda: Float)
    /// Log-partition variance (VarGrad); no log Z.
    case logPartitionVariance

    /// Whether the objective reads log F(s).
    public var needsLogFlow: Bool {
        switch self {
        case .detailedBalance, .subTrajectoryBalance: return true
        case .trajectoryBalance, .logPartitionVariance: return false
        }
    }
}

/// B trajectories' per-step quantities from any outside model, time-major `[T, B]` (row t, column b).
///
/// Trajectory b has `lengths[b]` = n transitions s₀ → … → s_{n−1} = x → s_f (the last is exit):
/// - `logPF[t, b]` = log P_F(s_{t+1} | s_t) for t < n (t = n − 1 is the exit probability);
/// - `logPB[t, b]` = log P_B(s_t | s_{t+1}) for t < n − 1 (the exit transition has none);
/// - `logF[t, b]` = log F(s_t) for t < n (DB, SubTB), or log F̃(s_t) when `energies` is given;
/// - `energies[t, b]` = E(s_t) for t < n: the forward-looking reparameterisation (Pan et al. 2023)
///   log F(s_t) = log F̃(s_t) − E(s_t); the sink keeps F(s_f) := R(x), so with E(x) = −log R(x) the exit
///   residual pins F̃(x) → 1 (FL-DB with `.detailedBalance`, FL-SubTB with `.subTrajectoryBalance`);
/// - `logRewards[b]` = log R(x_b).
/// Entries outside these ranges are ignored (they may hold anything, NaN included) and get gradient 0.
///
/// Incomplete trajectories (`complete[b] == false`; DB and SubTB only — the forward-looking losses'
/// use case): n = `lengths[b]` ≤ T − 1 ordinary transitions s₀ → … → s_n without exit; `logPF[t]`,
/// `logPB[t]` for t < n and `logF[t]`, `energies[t]` for t ≤ n; no sink and no reward (`logRewards[b]` is
/// ignored): the residuals are those of the sub-trajectories between the n + 1 visited states, with
/// SubTB's weights normalised within the trajectory as for complete ones.
public struct ExternalTrajectoryBatch {
    public var maxLength: Int
    public var batchSize: Int
    public var logPF: [Float]
    public var logPB: [Float]
    public var logF: [Float]?
    public var energies: [Float]?
    public var logRewards: [Float]
    public var lengths: [Int]
    /// Per trajectory: complete (ends with exit) or not; nil = all complete.
    public var complete: [Bool]?

    public init(maxLength: Int, batchSize: Int, logPF: [Float], logPB: [Float], logF: [Float]? = nil,
                energies: [Float]? = nil, logRewards: [Float], lengths: [Int], complete: [Bool]? = nil) {
        self.maxLength = maxLength; self.batchSize = batchSize
        self.logPF = logPF; self.logPB = logPB; self.logF = logF; self.energies = energies
        self.logRewards = logRewards; self.lengths = lengths; self.complete = complete
    }

    /// Whether trajectory b ends with exit.
    func isComplete(_ b: Int) -> Bool { complete?[b] ?? true }
    /// Last position (exclusive) of the valid log P_F, log P_B and log F / energy entries of trajectory b.
    func validEnds(_ b: Int) -> (forward: Int, backward: Int, flow: Int) {
        let n = lengths[b]
        return isComplete(b) ? (n, n - 1, n) : (n, n, n + 1)
    }

    /// The first problem that makes the batch unusable with `objective`, or nil.
    public func problem(for objective: ExternalPolicyObjective) -> String? { issue(for: objective)?.message }

    /// The first problem with its kind, or nil.
    public func issue(for objective: ExternalPolicyObjective) -> ExternalBatchIssue? {
        func tooLarge(_ m: String) -> ExternalBatchIssue { ExternalBatchIssue(kind: .tooLarge, message: m) }
        func nonFinite(_ m: String) -> ExternalBatchIssue { ExternalBatchIssue(kind: .nonFinite, message: m) }
        if let m = structuralProblem(for: objective) {
            return m.hasSuffix("is too large (limit 2^30)") || m.hasPrefix("SubTB needs") ? tooLarge(m) : ExternalBatchIssue(kind: .invalid, message: m)
        }
        if case .trajectoryBalance(let logZ) = objective, !logZ.isFinite { return nonFinite("log Z is \(logZ) (must be finite)") }
        if let m = valueProblem() { return nonFinite(m) }
        return nil
    }

    func structuralProblem(for objective: ExternalPolicyObjective) -> String? {
        let t = maxLength, b = batchSize
        guard t >= 1, t <= 1 << 24 else { return "max length must be in 1…2^24, got \(t)" }
        guard b >= 1, b <= 1 << 24 else { return "batch size must be in 1…2^24, got \(b)" }
        let (tb, overflow) = t.multipliedReportingOverflow(by: b)
        guard !overflow, tb <= 1 << 30 else { return "max length × batch size = \(t) × \(b) is too large (limit 2^30)" }
        if case .subTrajectoryBalance(let lambda) = objective {
            guard lambda > 0 && lambda <= 1 else { return "lambda must be in (0, 1], got \(lambda)" }
            guard (t + 1) * (t + 1) <= (1 << 27) / b else {
                return "SubTB needs (max length + 1)² × batch = \(t + 1)² × \(b) ≤ 2^27 elements"
            }
        }
        guard logPF.count == tb, logPB.count == tb else { return "log P_F and log P_B must hold max length × batch size = \(tb) values" }
        guard logRewards.count == b, lengths.count == b else { return "log R and lengths must hold batch size = \(b) values" }
        if objective.needsLogFlow {
            guard let logF, logF.count == tb else { return "this objective needs log F with \(tb) values" }
        } else if logF != nil {
            return "log F is only used by DB and SubTB; pass none for TB/ZVar"
        }
        if let energies {
            guard objective.needsLogFlow else { return "energies (forward-looking) need DB or SubTB" }
            guard energies.count == tb else { return "energies must hold \(tb) values" }
        }
        if let complete {
            guard complete.count == b else { return "complete must hold batch size = \(b) values" }
            if complete.contains(false) && !objective.needsLogFlow {
                return "incomplete trajectories need DB or SubTB (TB and ZVar need the terminal reward)"
            }
        }
        for (i, n) in lengths.enumerated() {
            let top = isComplete(i) ? t : t - 1
            if n < 1 || n > top {
                return "lengths[\(i)] = \(n) is outside 1…\(top)" + (isComplete(i) ? "" : " (an incomplete trajectory needs log F of its last state at row n)")
            }
        }
        return nil
    }

    func valueProblem() -> String? {
        let b = batchSize
        for (i, r) in logRewards.enumerated() where isComplete(i) && !r.isFinite { return "log_r[\(i)] is \(r) (must be finite)" }
        func firstNonFinite(_ values: [Float], name: String, last: (Int) -> Int) -> String? {
            for bi in 0..<b {
                for s in 0..<Swift.max(last(bi), 0) where !values[s * b + bi].isFinite {
                    return "\(name)[t=\(s), b=\(bi)] is \(values[s * b + bi]) (must be finite within the trajectory)"
                }
            }
            return nil
        }
        if let p = firstNonFinite(logPF, name: "log_pf", last: { validEnds($0).forward }) { return p }
        if let p = firstNonFinite(logPB, name: "log_pb", last: { validEnds($0).backward }) { return p }
        if let logF, let p = firstNonFinite(logF, name: "log_f", last: { validEnds($0).flow }) { return p }
        if let energies, let p = firstNonFinite(energies, name: "energies", last: { validEnds($0).flow }) { return p }
        return nil
    }
}

/// Why an `ExternalTrajectoryBatch` cannot be evaluated.
public struct ExternalBatchIssue: Error, Equatable {
    public enum Kind: Equatable, Sendable { case invalid, nonFinite, tooLarge }
    public var kind: Kind
    public var message: String
}

/// The loss of an `ExternalTrajectoryBatch` and its gradients (same `[T, B]` layout; 0 at ignored entries).
public struct ExternalPolicyLossResult {
    public var loss: Float
    public var gradLogPF: [Float]
    public var gradLogPB: [Float]
    /// nil for objectives without log F.
    public var gradLogF: [Float]?
    /// ∂loss/∂log Z (TB; 0 otherwise).
    public var gradLogZ: Float
}

/// Evaluates `objective` on an outside model's log-probabilities with the library's own objectives
/// (`trajectoryBalanceLoss`, `detailedBalanceLoss`, `subTrajectoryBalanceLoss`,
/// `logPartitionVarianceLoss`) and returns the loss with its reverse-mode gradients.
/// Precondition: `batch.problem(for: objective) == nil` (the C layer checks it first).
public func externalPolicyLoss(_ batch: ExternalTrajectoryBatch, objective: ExternalPolicyObjective,
                               penalty: RegressionPenalty = .squared) -> ExternalPolicyLossResult {
    precondition(batch.problem(for: objective) == nil, batch.problem(for: objective) ?? "")
    let t = batch.maxLength, b = batch.batchSize
    // Ignored entries: beyond the trajectory (P_F, F, E) and at/after the exit transition (P_B).
    var ignoreForward = [Bool](repeating: true, count: t * b), ignoreBackward = ignoreForward, ignoreFlow = ignoreForward
    for bi in 0..<b {
        let ends = batch.validEnds(bi)
        for s in 0..<ends.forward { ignoreForward[s * b + bi] = false }
        for s in 0..<ends.backward { ignoreBackward[s * b + bi] = false }
        for s in 0..<ends.flow { ignoreFlow[s * b + bi] = false }
    }
    func leaf(_ values: [Float], ignore: [Bool]) -> (Variable, Variable) {
        var clean = values
        for i in 0..<clean.count where ignore[i] { clean[i] = 0 }
        let v = Variable(Tensor(shape: [t, b], scalars: clean), requiresGrad: true)
        return (v, v.maskedFill(ignore, value: 0))
    }
    let (pfLeaf, logPF) = leaf(batch.logPF, ignore: ignoreForward)
    let (pbLeaf, logPB) = leaf(batch.logPB, ignore: ignoreBackward)
    var fLeaf: Variable? = nil, logF: Variable? = nil
    if let values = batch.logF {
        let (l, masked) = leaf(values, ignore: ignoreFlow)
        fLeaf = l
        logF = masked
        if let energies = batch.energies {
            var e = energies
            for i in 0..<e.count where ignoreFlow[i] { e[i] = 0 }
            logF = masked - Variable(Tensor(shape: [t, b], scalars: e))
        }
    }
    let lp = TrajectoryLogProbabilities(logPF: logPF, logPB: logPB, logF: logF, lengths: batch.lengths,
                                        logRewards: Tensor(shape: [b], scalars: batch.logRewards))
    var zLeaf: Variable? = nil
    let loss: Variable
    switch objective {
    case .trajectoryBalance(let logZ):
        let z = Variable(Tensor(shape: [1], scalars: [logZ]), requiresGrad: true)
        zLeaf = z
        loss = trajectoryBalanceLoss(lp, logZ: z, penalty: penalty)
    case .detailedBalance where batch.complete?.contains(false) == true:
        loss = balanceWithIncompleteTrajectories(lp, complete: batch.complete!, lambda: nil, penalty: penalty)
    case .subTrajectoryBalance(let lambda) where batch.complete?.contains(false) == true:
        loss = balanceWithIncompleteTrajectories(lp, complete: batch.complete!, lambda: lambda, penalty: penalty)
    case .detailedBalance:
        loss = detailedBalanceLoss(lp, penalty: penalty)
    case .subTrajectoryBalance(let lambda):
        loss = subTrajectoryBalanceLoss(lp, lambda: lambda, penalty: penalty)
    case .logPartitionVariance:
        loss = logPartitionVarianceLoss(lp, penalty: penalty)
    }
    loss.backward()
    let zeros = [Float](repeating: 0, count: t * b)
    return ExternalPolicyLossResult(
        loss: loss.value.scalar,
        gradLogPF: pfLeaf.grad?.scalars ?? zeros,
        gradLogPB: pbLeaf.grad?.scalars ?? zeros,
        gradLogF: fLeaf.map { $0.grad?.scalars ?? zeros },
        gradLogZ: zLeaf?.grad?.scalars.first ?? 0)
}

/// DB (`lambda == nil`) or SubTB(λ) on a batch mixing complete and incomplete trajectories (see
/// `ExternalTrajectoryBatch`). Position j's flow F′_j is log F(s_j), except at the sink of a complete
/// trajectory (j = n), where it is log R(x). DB: mean of ℓ(δ) over all transitions; SubTB: for every
/// pair i < j ≤ n, δ_ij = log F(s_i) + Σ_{k=i}^{j−1} (log P_F − log P_B)_k − F′_j, weight
/// λ^{j−i−1} / Σ_{m=0}^{n−1} (n−m) λ^m, then the mean over trajectories — on complete-only batches these
/// are exactly `detailedBalanceLoss` and `subTrajectoryBalanceLoss`.
func balanceWithIncompleteTrajectories(_ lp: TrajectoryLogProbabilities, complete: [Bool], lambda: Float?,
                                       penalty: RegressionPenalty) -> Variable {
    let t = lp.maxLength, b = lp.batchSize
    guard let logF = lp.logF else { preconditionFailure("DB and SubTB need log F") }
    let padded = Variable.concat([logF, Variable(Tensor(zeros: [1, b]))], axis: 0)          // log F_j, j = 0…T
    var isSink = [Bool](repeating: false, count: (t + 1) * b)
    for (i, n) in lp.lengths.enumerated() where complete[i] { isSink[n * b + i] = true }
    let flows = Variable.where(isSink, Variable(lp.logRewards.reshaped([1, b])), padded)     // F′ [T+1, B]
    guard let lambda else {
        let next = flows.slice(axis: 0, start: 1, end: t + 1)
        let delta = logF + lp.logPF - lp.logPB - next
        var mask = [Float](repeating: 0, count: t * b)
        var transitions = 0
        for (i, n) in lp.lengths.enumerated() {
            for s in 0..<n { mask[s * b + i] = 1 }
            transitions += n
        }
        return (penalty.apply(delta) * Variable(Tensor(shape: [t, b], scalars: mask))).sum() * (1 / Float(transitions))
    }
    let c = Variable.concat([Variable(Tensor(zeros: [1, b])), (lp.logPF - lp.logPB).cumsum(axis: 0)], axis: 0)
    let delta = (padded - c).reshaped([t + 1, 1, b]) + (c - flows).reshaped([1, t + 1, b])   // [i, j, b]
    return (penalty.apply(delta) * subTrajectoryWeights(lengths: lp.lengths, maxLength: t, lambda: lambda)).sum()
}
