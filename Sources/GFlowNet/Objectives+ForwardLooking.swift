import FlowTensor
import FlowAutodiff

// Objectives that use rewards of intermediate states: modified detailed balance (every state can
// terminate) and the forward-looking reparameterisation F(s) = F̃(s)·e^{−E(s)} of DB and SubTB
// (Pan et al. 2023). `stateLogRewards[t, b]` is log R(s_t) = −E(s_t) of the t-th state of trajectory b
// (t < n_b, 0 after), time-major like `TrajectoryLogProbabilities`.

/// Time-major 0/1 weights [T, B] from per-trajectory counts of valid positions.
private func positionMask(_ counts: [Int], maxLength t: Int) -> (mask: Tensor, total: Int) {
    let b = counts.count
    var w = [Float](repeating: 0, count: t * b)
    var total = 0
    for (i, n) in counts.enumerated() where n > 0 {
        for s in 0..<n { w[s * b + i] = 1 }
        total += n
    }
    return (Tensor(shape: [t, b], scalars: w), total)
}

/// `lp` with log F replaced by log F̃ + log R(s): the state flows of the forward-looking objectives.
private func forwardLookingFlows(_ lp: TrajectoryLogProbabilities, _ stateLogRewards: Tensor) -> TrajectoryLogProbabilities {
    precondition(lp.logF != nil, "forward-looking objectives need log F̃")
    precondition(stateLogRewards.shape == [lp.maxLength, lp.batchSize], "stateLogRewards must be [T, B]")
    var out = lp
    out.logF = lp.logF! + Variable(stateLogRewards)
    return out
}

/// Modified detailed balance (Deleu et al. 2022; torchgfn `ModifiedDBGFlowNet`), for environments
/// where every state can terminate. For each non-exit transition s_t → s_{t+1} (t < n_b − 1):
///   δ = log R(s_{t+1}) + log P_B(s_t|s_{t+1}) + log P_F(s_f|s_t) − log R(s_t) − log P_F(s_{t+1}|s_t) − log P_F(s_f|s_{t+1});
/// loss = mean ℓ(δ) over those transitions (0 when the batch has none). No F or Z.
/// - Parameters: `exitLogPF[t, b]` = log P_F(s_f | s_t) for t < n_b (0 after); `stateLogRewards` = log R(s_t).
public func modifiedDetailedBalanceLoss(_ lp: TrajectoryLogProbabilities, exitLogPF: Variable, stateLogRewards: Tensor,
                                        penalty: RegressionPenalty = .squared) -> Variable {
    let t = lp.maxLength, b = lp.batchSize
    precondition(exitLogPF.shape == [t, b] && stateLogRewards.shape == [t, b], "exitLogPF and stateLogRewards must be [T, B]")
    let pad = Variable(Tensor(zeros: [1, b]))
    func next(_ v: Variable) -> Variable { Variable.concat([v.slice(axis: 0, start: 1, end: t), pad], axis: 0) }
    let r = Variable(stateLogRewards)
    let delta = next(r) + lp.logPB + exitLogPF - r - lp.logPF - next(exitLogPF)
    let (mask, total) = positionMask(lp.lengths.map { $0 - 1 }, maxLength: t)
    return (penalty.apply(delta) * Variable(mask)).sum() * (1 / Float(Swift.max(total, 1)))
}

/// Forward-looking detailed balance (Pan et al. 2023, FL-DB): with log F(s) = log F̃(s) + log R(s),
///   δ_t = log F̃(s_t) + log P_F(s_{t+1}|s_t) − log F̃(s_{t+1}) − log P_B(s_t|s_{t+1}) + log R(s_t) − log R(s_{t+1}),
/// and for the exit transition of a complete trajectory δ = log F̃(x) + log R(x) + log P_F(s_f|x) − log R(x)
/// (so log F̃(x) + log P_F(s_f|x) → 0). `lp.logF` holds log F̃. Trajectory b is incomplete when
/// `complete[b]` is false: its n_b positions are states s_0 … s_{n−1} joined by n − 1 transitions (no
/// exit, no terminal reward needed; `lp.logPF[n−1, b]` is ignored). Loss = mean ℓ(δ) over transitions.
public func forwardLookingDetailedBalanceLoss(_ lp: TrajectoryLogProbabilities, stateLogRewards: Tensor,
                                              complete: [Bool]? = nil, penalty: RegressionPenalty = .squared) -> Variable {
    let fl = forwardLookingFlows(lp, stateLogRewards)
    let t = lp.maxLength
    let flows = fl.targetFlows()
    let delta = fl.logF! + lp.logPF - lp.logPB - flows.slice(axis: 0, start: 1, end: t + 1)
    let counts = lp.lengths.enumerated().map { (i, n) in (complete?[i] ?? true) ? n : n - 1 }
    let (mask, total) = positionMask(counts, maxLength: t)
    return (penalty.apply(delta) * Variable(mask)).sum() * (1 / Float(Swift.max(total, 1)))
}

/// Forward-looking sub-trajectory balance (FL-SubTB; torchgfn `SubTBGFlowNet(forward_looking=True)`):
/// SubTB with log F(s_i) = log F̃(s_i) + log R(s_i) at every non-sink position and log R(x) at the sink,
/// geometric-within weighting λ^{j−i−1} / Σ_{m<L}(L−m)λ^m over the L transitions of each trajectory,
/// loss = (1/B) Σ_b Σ_{i<j≤L_b} w_ij ℓ(δ_ij). Incomplete trajectories (`complete[b]` false) have
/// L_b = n_b − 1 transitions between their n_b states and no sink.
public func forwardLookingSubTrajectoryBalanceLoss(_ lp: TrajectoryLogProbabilities, stateLogRewards: Tensor, lambda: Float,
                                                   complete: [Bool]? = nil,
                                                   penalty: RegressionPenalty = .squared) -> Variable {
    precondition(lambda > 0 && lambda <= 1, "SubTB needs λ in (0, 1]")
    let fl = forwardLookingFlows(lp, stateLogRewards)
    let t = lp.maxLength, b = lp.batchSize
    let flows = fl.targetFlows()                                         // [T+1, B]
    let steps = (lp.logPF - lp.logPB).cumsum(axis: 0)
    let c = Variable.concat([Variable(Tensor(zeros: [1, b])), steps], axis: 0)   // c_0 … c_T
    let start = Variable.concat([fl.logF!, Variable(Tensor(zeros: [1, b]))], axis: 0) - c
    let end = c - flows
    let delta = start.reshaped([t + 1, 1, b]) + end.reshaped([1, t + 1, b])     // [i, j, b]
    var w = [Float](repeating: 0, count: (t + 1) * (t + 1) * b)
    var powers = [Float](repeating: 1, count: t + 1)
    for k in 1...t { powers[k] = powers[k - 1] * lambda }
    for (bi, n) in lp.lengths.enumerated() {
        let l = (complete?[bi] ?? true) ? n : n - 1
        guard l > 0 else { continue }
        var norm: Float = 0
        for m in 0..<l { norm += Float(l - m) * powers[m] }
        let scale = 1 / (norm * Float(b))
        for i in 0..<l {
            for j in (i + 1)...l { w[(i * (t + 1) + j) * b + bi] = powers[j - i - 1] * scale }
        }
    }
    return (penalty.apply(delta) * Variable(Tensor(shape: [t + 1, t + 1, b], scalars: w))).sum()
}
