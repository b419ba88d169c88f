#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlowGen

/// `flowgen gfn train`: train a GFlowNet on a built-in environment and report exact metrics.
struct GFlowNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gfn", abstract: "Generative flow networks.",
                                                    subcommands: [GFlowNetTrain.self])
}

struct GFlowNetTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GFlowNet and measure its exact terminating distribution against R/Z.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Environment: hypergrid, bitseq, ising or set.") var env: String = "hypergrid"
    @Option(help: "HyperGrid dimensions D.") var ndim: Int = 2
    @Option(help: "HyperGrid side H.") var height: Int = 8
    @Option(help: "Reward R0 (> 0).") var r0: Double = 0.1
    @Option(help: "Reward R1 (≥ 0).") var r1: Double = 0.5
    @Option(help: "Reward R2 (≥ 0).") var r2: Double = 2.0
    @OptionGroup var zoo: GFlowNetZooOptions
    @Option(help: "Objective: tb, db, subtb, fm, zvar, moddb (every state terminates: hypergrid), fldb or flsubtb (forward-looking: bitseq, ising, set).")
    var loss: String = "tb"
    @Option(help: "SubTB λ in (0, 1].") var lambda: Float = 0.9
    @Option(help: "Trajectories per optimizer step.") var batch: Int = 16
    @Option(help: "Training trajectories.") var trajectories: Int = 100_000
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "ε-uniform exploration while training.") var epsilon: Float = 0
    @Option(help: "Sampling temperature while training.") var temperature: Float = 1
    @Option(help: "Hidden units per layer.") var hidden: Int = 256
    @Option(help: "Hidden layers.") var layers: Int = 2
    @Option(help: "Adam learning rate of the network.") var lr: Float = 1e-3
    @Option(name: .customLong("lr-logz"), help: "Adam learning rate of log Z.") var lrLogZ: Float = 0.1
    @Flag(name: .customLong("uniform-pb"), help: "Uniform backward policy.") var uniformPB = false
    @Option(name: .customLong("eval-at"), help: "Comma-separated trajectory counts at which to also report the exact L1 (not timed).")
    var evalAt: String = ""
    @Option(help: "BLAS threads (0 = leave OpenBLAS's default).") var threads: Int = 0
    @Option(help: "Write an SVG with target vs learned distributions and the loss curve.") var plot: String?
    @Option(help: "Save a checkpoint (safetensors) after training.") var save: String?
    @Option(help: "Replay buffer capacity (0 = no replay).") var replay: Int = 0
    @Option(name: .customLong("replay-ratio"), help: "Fraction of each batch replayed, in [0, 1).") var replayRatio: Float = 0.5
    @Option(name: .customLong("replay-kind"), help: "Replay kind: trajectory, backward (re-expanded with P_B) or prioritized (∝ R).")
    var replayKind: String = "trajectory"
    @Option(name: .customLong("max-rollout-steps"), help: "Truncated rollouts: each step advances every rollout by at most K transitions, incomplete ones continue next step (0 = whole trajectories; fldb/flsubtb only).")
    var maxRolloutSteps: Int = 0

    func run() throws {
        guard ["hypergrid", "bitseq", "ising", "set"].contains(env) else {
            throw ValidationError("--env \(env): expected hypergrid, bitseq, ising or set")
        }
        guard let objective = GFlowNetObjective(name: loss) else {
            throw ValidationError("--loss \(loss): expected one of tb, db, subtb, fm, zvar, moddb, fldb, flsubtb")
        }
        guard ndim >= 1, ndim <= 64, height >= 2, height <= 65536, ndim * height <= 1 << 20,
              HyperGrid.stateCount(ndim: ndim, height: height) != nil else {
            throw ValidationError("--ndim must be ≥ 1 and --height ≥ 2 with height^ndim ≤ 2^62")
        }
        guard r0.isFinite, r0 > 0, r1.isFinite, r1 >= 0, r2.isFinite, r2 >= 0 else {
            throw ValidationError("rewards must be finite with --r0 > 0, --r1 ≥ 0, --r2 ≥ 0")
        }
        guard trajectories >= 1 else { throw ValidationError("--trajectories must be ≥ 1") }
        var c = GFlowNetTrainer.Configuration()
        c.objective = objective; c.lambda = lambda; c.batchSize = batch; c.seed = seed
        c.sampling = SamplingOptions(epsilon: epsilon, temperature: temperature)
        c.hiddenWidth = hidden; c.hiddenLayers = layers; c.learningRate = lr; c.logZLearningRate = lrLogZ
        c.uniformBackward = uniformPB
        c.maxRolloutSteps = maxRolloutSteps
        if maxRolloutSteps > 0 && replay != 0 { throw ValidationError("--max-rollout-steps cannot be combined with --replay") }
        if let problem = c.problem { throw ValidationError(problem) }
        var checkpoints = [Int]()
        for part in evalAt.split(separator: ",") {
            guard let n = Int(part.trimmingCharacters()), n > 0 else { throw ValidationError("--eval-at: '\(part)' is not a positive count") }
            checkpoints.append(n)
        }
        if threads > 0 { BLAS.setThreadCount(threads) }

        let grid = HyperGrid(ndim: ndim, height: height, r0: r0, r1: r1, r2: r2)
        let (environment, envDescription, envFields) = env == "hypergrid"
            ? (grid as DiscreteEnvironment, "hypergrid D=\(ndim) H=\(height) R=(\(r0), \(r1), \(r2))",
               [("ndim", JSONValue.number(Double(ndim))), ("height", .number(Double(height)))])
            : try zoo.environment(env)
        if let problem = GFlowNetTrainer.compatibilityProblem(environment: environment, configuration: c) { throw ValidationError(problem) }
        if let problem = GFlowNetTrainer.resourceProblem(environment: environment, configuration: c) { throw ValidationError(problem) }
        let trainer = GFlowNetTrainer(environment: environment, configuration: c)
        if replay != 0 {
            guard let kind = ReplayKind(name: replayKind) else { throw ValidationError("--replay-kind \(replayKind): expected trajectory, backward or prioritized") }
            let r = ReplayConfiguration(kind: kind, capacity: replay, ratio: replayRatio)
            if let problem = r.problem { throw ValidationError(problem) }
            trainer.replay = ReplayBuffer(r)
        }
        let enumerable = environment.enumeratedStateCount != nil
        fputsErr("flowgen gfn train: \(envDescription), \(objective.name), batch \(batch), MLP \(layers)×\(hidden), OpenBLAS \(BLAS.coreName) × \(BLAS.threadCount)\n")
        // Counted in completed trajectories (with --max-rollout-steps a step may complete fewer than a batch).
        var bar = ProgressBar("gfn \(objective.name)", total: trajectories)
        var curve: [(Int, Double)] = [], corrCurve: [(Int, Double)] = []
        var pending = checkpoints.sorted()
        var trainSeconds = 0.0
        while trainer.trajectoriesSeen < trajectories {
            // Train up to the next evaluation point (or the end).
            let nextStop = Swift.min(trajectories, pending.first ?? trajectories)
            if trainer.trajectoriesSeen < nextStop {
                let t0 = now()
                while trainer.trajectoriesSeen < nextStop {
                    let l = try trainer.trainStep()
                    bar.update(Swift.min(trainer.trajectoriesSeen, trajectories), detail: "loss \(l)")
                }
                trainSeconds += now() - t0
            }
            while let p = pending.first, p <= trainer.trajectoriesSeen || (p > trajectories && trainer.trajectoriesSeen >= trajectories) {
                pending.removeFirst()
                if enumerable && p <= trainer.trajectoriesSeen {
                    let m = try trainer.metrics()
                    curve.append((trainer.trajectoriesSeen, m.l1))
                    corrCurve.append((trainer.trajectoriesSeen, m.logRewardCorrelation))
                    fputsErr("  after \(trainer.trajectoriesSeen) trajectories: exact L1 \(format3("", m.l1 * 1000))e-3\n")
                }
            }
        }
        let seen = trainer.trajectoriesSeen
        var fields: [(String, JSONValue)] = [
            ("env", .string(env))] + envFields + [
            ("loss", .string(objective.name)), ("batch", .number(Double(batch))),
            ("trajectories", .number(Double(seen))), ("train_seconds", .number(trainSeconds)),
            ("traj_per_s", .number(Double(seen) / Swift.max(trainSeconds, 1e-9))),
            ("threads", .number(Double(BLAS.threadCount))),
            ("max_rollout_steps", .number(Double(c.maxRolloutSteps))), ("steps", .number(Double(trainer.step))),
        ]
        if let r = trainer.replay?.configuration {
            fields += [("replay", .number(Double(r.capacity))), ("replay_ratio", .number(Double(r.ratio))),
                       ("replay_kind", .string(r.kind.name))]
        }
        if enumerable {
            let m = try trainer.metrics()
            fields += [("l1", .number(m.l1)), ("tv", .number(m.tv)), ("jsd", .number(m.jsd)), ("log_z", .number(m.logZ)),
                       ("log_z_true", .number(m.logZTrue)), ("modes_found", .number(Double(m.modesFound))),
                       ("n_modes", .number(Double(m.modeCount))), ("mode_regions_found", .number(Double(m.modeRegionsFound))),
                       ("n_mode_regions", .number(Double(m.modeRegionCount))), ("log_corr", .number(m.logRewardCorrelation))]
            fields.append(("l1_curve", .array(curve.map { .array([.number(Double($0.0)), .number($0.1)]) })))
            fields.append(("log_corr_curve", .array(corrCurve.map { .array([.number(Double($0.0)), .number($0.1)]) })))
            print("\(seen) trajectories in \(format3("", trainSeconds)) s (\(Int(Double(seen) / Swift.max(trainSeconds, 1e-9))) traj/s): exact L1 \(m.l1), TV \(m.tv), JSD \(m.jsd), log Z \(m.logZ) (true \(m.logZTrue)), modes \(m.modesFound)/\(m.modeCount), mode regions \(m.modeRegionsFound)/\(m.modeRegionCount), corr(log P_T, log R) \(m.logRewardCorrelation)")
            if let plot, env != "hypergrid" {
                let svg = gfnScatterSVG(learned: try trainer.exactDistribution(), target: try trainer.target().probabilities,
                                        losses: trainer.lossHistory, title: "\(objective.name.uppercased()) on \(envDescription), \(seen) trajectories, L1 \(format3("", m.l1))")
                try writeFileAtomically(plot, bytes: Array(svg.utf8))
                fputsErr("wrote \(plot)\n")
            } else if let plot {
                let svg = gfnPlotSVG(grid: grid, learned: try trainer.exactDistribution(), target: try trainer.target().probabilities,
                                     losses: trainer.lossHistory, title: "\(objective.name.uppercased()) on HyperGrid D=\(ndim) H=\(height), \(seen) trajectories, L1 \(format3("", m.l1))")
                try writeFileAtomically(plot, bytes: Array(svg.utf8))
                fputsErr("wrote \(plot)\n")
            }
        } else {
            print("\(seen) trajectories in \(format3("", trainSeconds)) s; the environment has too many states for exact metrics")
            if plot != nil { fputsErr("--plot needs an enumerable environment (≤ 2^24 states); skipped\n") }
        }
        if let save { try trainer.save(to: save) }
        if common.json { print(JSONValue.object(fields).serialized()) }
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}

/// A hand-written SVG: target and learned distributions as heat maps (marginal over the first two
/// coordinates; one row for 1-D grids) side by side, and the training loss curve (moving average).
func gfnPlotSVG(grid: HyperGrid, learned: [Double], target: [Double], losses: [Float], title: String) -> String {
    let h = grid.height
    let rows = grid.ndim >= 2 ? h : 1
    func marginal(_ p: [Double]) -> [Double] {
        var m = [Double](repeating: 0, count: rows * h)
        for (i, v) in p.enumerated() {
            let x0 = i % h, x1 = grid.ndim >= 2 ? (i / h) % h : 0
            m[x1 * h + x0] += v
        }
        return m
    }
    let mt = marginal(target), ml = marginal(learned)
    let vmax = Swift.max(mt.max() ?? 1, ml.max() ?? 1, 1e-300)
    let side = 300.0, cell = side / Double(h), cellH = rows == 1 ? 40.0 : cell
    let mapHeight = cellH * Double(rows)
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"\(Int(mapHeight + 110))\" font-family=\"sans-serif\" font-size=\"13\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"10\" y=\"20\" font-size=\"15\">\(escapeXML(title))</text>\n"
    func heat(_ m: [Double], x: Double, label: String) {
        s += "<text x=\"\(x)\" y=\"45\">\(label)</text>\n"
        for r in 0..<rows {
            for c in 0..<h {
                let v = Swift.min(1, m[r * h + c] / vmax)
                // white → dark blue
                let red = Int(255 * (1 - v)), green = Int(255 * (1 - 0.8 * v)), blue = Int(255 - 90 * v)
                s += "<rect x=\(q(x + Double(c) * cell)) y=\(q(55 + Double(rows - 1 - r) * cellH)) width=\(q(cell)) height=\(q(cellH)) fill=\"rgb(\(red),\(green),\(blue))\"/>\n"
            }
        }
    }
    heat(mt, x: 10, label: "target R(x)/Z" + (grid.ndim > 2 ? " (marginal of x0, x1)" : ""))
    heat(ml, x: 330, label: "learned P_T(x) (exact)")
    s += gfnLossCurveSVG(losses, left: 660, top: 55, width: 320, height: Swift.max(mapHeight, 120))
    s += "</svg>\n"
    return s
}

func q(_ v: Double) -> String { "\"\(format3("", v))\"" }

func escapeXML(_ text: String) -> String {
    var out = ""
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(ch)
        }
    }
    return out
}
