#if canImport(Glibc)
import Glibc
#endif

/// Pearson correlation of two equally long samples (NaN when fewer than two values or either is constant).
public func pearsonCorrelation(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count, "samples of different sizes")
    let n = Double(x.count)
    guard x.count >= 2 else { return .nan }
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for i in x.indices {
        let dx = x[i] - mx, dy = y[i] - my
        sxy += dx * dy; sxx += dx * dx; syy += dy * dy
    }
    guard sxx > 0, syy > 0 else { return .nan }
    return sxy / (sxx * syy).squareRoot()
}

extension GFlowNetTrainer {
    /// Fills the mode-region counts and the log P_T / log R correlation of `m`.
    ///
    /// Regions found = distinct `modeRegion` ids of the mode cells visited by training samples;
    /// region count = distinct ids over all states. The correlation is over the terminating states x
    /// (exit valid): log max(P_T(x), 1e-300) against log R(x).
    func addModeRegionsAndCorrelation(_ m: inout GFlowNetMetrics, dag d: EnumeratedDAG, learned: [Double]) throws {
        let env = environment, a = d.actionCount
        let allRegions = try env.modeRegion(d.states, count: d.stateCount)
        m.modeRegionCount = Set(allRegions.filter { $0 >= 0 }).count
        let found = modesFound.sorted().filter { $0 >= 0 && $0 < d.stateCount }
        m.modeRegionsFound = Set(found.map { allRegions[$0] }.filter { $0 >= 0 }).count
        let terminal = (0..<d.stateCount).filter { d.forwardMask[$0 * a + a - 1] }
        let dim = env.stateDimension
        let logR = try env.logReward(terminal.flatMap { d.states[($0 * dim)..<(($0 + 1) * dim)] }, count: terminal.count)
        m.logRewardCorrelation = pearsonCorrelation(terminal.map { log(Swift.max(learned[$0], 1e-300)) }, logR)
    }
}
