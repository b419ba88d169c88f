#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlowGen

/// `flowgen fm …`: continuous flow matching on 2-D benchmark data or a .npy file.
struct FlowMatchingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fm", abstract: "Continuous flow matching (CFM, OT-CFM, FM, SB-CFM).",
                                                    subcommands: [FlowMatchingTrain.self, FlowMatchingSample.self, FlowMatchingLogLikelihood.self])
}

struct FlowMatchingTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a flow from --source to --target, sample it, and report W2 / NPE / NFE / NLL.",
        discussion: """
        Data follow the [SF]²M 2-D protocol (Tong et al. 2024; definitions in Sources/FlowMatching/Datasets.swift). \
        `--source moons --target 8gaussians` is the protocol's moons→8gaussians task and uses its own \
        definitions (moons noise 0.1 standardised ×7; 8 Gaussians radius 12, std 1.5). Defaults: 3×64 SELU MLP, \
        AdamW lr 1e-3, weight decay 1e-5, 10 000 training points, 100 Euler steps for sampling. W2 is exact \
        (Hungarian) between --eval-points samples and as many fresh target points.
        """)
    @OptionGroup var common: CommonOptions
    @Option(help: "Source: gaussian, moons, 8gaussians (or any target name).") var source: String = "gaussian"
    @Option(help: "Target: 8gaussians, moons, scurve, checkerboard, or FILE.npy ([n, dim] float).") var target: String = "8gaussians"
    @Option(help: "icfm, otcfm, fm, sbcfm or vp.") var method: String = "otcfm"
    @Option(help: "Path noise σ (σ_min for fm; SB-CFM needs σ > 0).") var sigma: Float = 0.1
    @Option(help: "Passes over the training points (steps = epochs × ⌈n-train / batch⌉).") var epochs: Int = 10
    @Option(help: "Exact number of optimizer steps (overrides --epochs).") var steps: Int?
    @Option(help: "Minibatch size.") var batch: Int = 512
    @Option(help: "Seed of data, initialisation and training.") var seed: UInt64 = 42
    @Option(name: .customLong("n-train"), help: "Training points drawn from the distributions.") var nTrain: Int = 10_000
    @Option(name: .customLong("eval-points"), help: "Samples and test points drawn for evaluation (≤ 100000).") var evalPoints: Int = 2000
    @Option(name: .customLong("w2-points"), help: "Points of those used for the native exact W2 / NPE (default min(eval-points, 5000); exact OT is O(n³)).") var w2Points: Int?
    @Option(name: .customLong("write-samples"), help: "Write the --eval-points generated samples to FILE.npy.") var writeSamples: String?
    @Option(name: .customLong("write-test"), help: "Write the --eval-points test target points to FILE.npy.") var writeTest: String?
    @Option(help: "Sampling solver: euler, midpoint, heun, rk4, dopri5.") var solver: String = "euler"
    @Option(name: .customLong("solver-steps"), help: "Steps of fixed-step solvers.") var solverSteps: Int = 100
    @Option(help: "dopri5 tolerance (rtol = atol).") var tol: Double = 1e-5
    @Option(help: "Write an SVG of target points, samples and trajectories.") var plot: String?
    @Option(help: "Save the trained model (safetensors).") var save: String?
    @Flag(help: "Class-conditional training on the target's classes (8gaussians: the centre, moons / spirals: the arm), with label dropout; evaluation samples take the labels of the test points.")
    var conditional = false
    @Option(name: .customLong("label-dropout"), help: "With --conditional: probability that a training label is dropped (trains the unconditional field used by guidance; default 0.1).")
    var labelDropout: Float?
    @Option(help: "With --conditional: classifier-free guidance weight of the evaluation samples (default: the plain conditional field).")
    var guidance: Float?
    @Option(name: .customLong("guidance-convention"), help: "interpolate: v_u + w (v_c − v_u); scaled: (1 + w) v_c − w v_u.")
    var guidanceConvention: String = "interpolate"
    @Option(name: .customLong("select-every"), help: "Every E epochs compute the CFM loss on a held-out validation set (--val-points target and source points) and evaluate the weights with the lowest one at the end, as the torchcfm runner tests Lightning's best checkpoint (0 = off: the final weights).")
    var selectEvery: Int = 0
    @Option(name: .customLong("val-points"), help: "Validation points for --select-every.") var valPoints: Int = 1000

    func run() throws {
        guard let methodValue = FlowMatcher.Method.allCases.first(where: { $0.name == method }) else {
            throw ValidationError("unknown --method \(method); use icfm, otcfm, fm, sbcfm or vp")
        }
        guard let odeMethod = ODEMethod(rawValue: solver) else { throw ValidationError("unknown --solver \(solver)") }
        guard batch >= 1, nTrain >= 1, evalPoints >= 1, evalPoints <= 100_000, epochs >= 1, solverSteps >= 1 else {
            throw ValidationError("--batch, --n-train, --epochs, --solver-steps must be ≥ 1 and --eval-points in 1…100000")
        }
        let nW2 = w2Points ?? Swift.min(evalPoints, 5000)
        guard nW2 >= 1, nW2 <= Swift.min(evalPoints, 5000) else { throw ValidationError("--w2-points must be in 1…min(--eval-points, 5000)") }
        if !conditional {
            guard guidance == nil else { throw ValidationError("--guidance needs --conditional") }
            guard labelDropout == nil else { throw ValidationError("--label-dropout needs --conditional") }
        }
        let labelDropout = self.labelDropout ?? 0.1
        guard labelDropout.isFinite, labelDropout >= 0, labelDropout <= 1 else { throw ValidationError("--label-dropout must be in [0, 1]") }
        var guide: (weight: Float, convention: GuidanceConvention)? = nil
        if let guidance {
            guard guidance.isFinite, abs(guidance) <= 1000 else { throw ValidationError("--guidance must be finite, |w| ≤ 1000") }
            guard let convention = GuidanceConvention(name: guidanceConvention) else {
                throw ValidationError("unknown --guidance-convention \(guidanceConvention); use interpolate or scaled")
            }
            guide = (guidance, convention)
        }
        var rng = RandomGenerator(seed: seed)
        var sourceName = source, targetName = target
        if source == "moons" && target == "8gaussians" { sourceName = "moons-dsb"; targetName = "8gaussians-dsb" }
        let sourceDist: ToyDistribution?
        if sourceName == "gaussian" || sourceName == "normal" { sourceDist = nil } else {
            guard let d = ToyDistribution(rawValue: sourceName) else { throw ValidationError("unknown --source \(source)") }
            sourceDist = d
        }
        // Target: a named distribution or a .npy file (split into train / test rows).
        var trainTarget: Tensor, testTarget: Tensor
        var trainLabels: [Int32]? = nil, testLabels: [Int32]? = nil, classes = 0
        var floorSample: Tensor? = nil
        if target.hasSuffix(".npy") {
            guard !conditional else { throw ValidationError("--conditional needs a named --target with classes (8gaussians, moons, spirals)") }
            let all = try readNpy(target)
            guard all.rank == 2, all.shape[0] >= 2, all.isFinite else { throw ValidationError("\(target) must hold a finite [n, dim] array with n ≥ 2") }
            let perm = rng.permutation(all.shape[0])
            let nTest = Swift.min(evalPoints, all.shape[0] / 2)
            testTarget = selectRows(all, Array(perm[0..<nTest]))
            trainTarget = selectRows(all, Array(perm[nTest...]))
        } else {
            guard let d = ToyDistribution(rawValue: targetName) else { throw ValidationError("unknown --target \(target)") }
            if conditional {
                guard d.classCount >= 2 else {
                    throw ValidationError("--conditional needs a --target with classes (8gaussians, moons, spirals); \(target) has one")
                }
                classes = d.classCount
                // Same random stream as `sample`, so the points equal the unconditional run's.
                (trainTarget, trainLabels) = d.sampleWithLabels(nTrain, rng: &rng)
                (testTarget, testLabels) = d.sampleWithLabels(evalPoints, rng: &rng)
            } else {
                trainTarget = d.sample(nTrain, rng: &rng)
                testTarget = d.sample(evalPoints, rng: &rng)
            }
            floorSample = d.sample(nW2, rng: &rng)
        }
        let dim = trainTarget.shape[1]
        if sourceDist != nil && dim != 2 { throw ValidationError("a 2-D --source needs 2-D target data, got dim \(dim)") }
        let trainSource = sourceDist?.sample(nTrain, rng: &rng)
        var config = FlowMatcher.Configuration(dim: dim)
        config.method = methodValue; config.sigma = sigma; config.batchSize = batch; config.seed = seed
        config.numClasses = classes; config.labelDropout = labelDropout
        if let problem = config.problem { throw ValidationError(problem) }
        let matcher = FlowMatcher(config)
        let rows = Swift.min(trainTarget.shape[0], trainSource?.shape[0] ?? Int.max)
        let totalSteps = steps ?? epochs * ((rows + batch - 1) / batch)
        guard totalSteps >= 1 else { throw ValidationError("--steps must be ≥ 1") }
        guard selectEvery >= 0, valPoints >= 1, valPoints <= 100_000 else {
            throw ValidationError("--select-every must be ≥ 0 and --val-points in 1…100000")
        }
        guard selectEvery == 0 || !conditional else { throw ValidationError("--select-every does not support --conditional") }
        // Held-out validation pairs for checkpoint selection, drawn from the generator's own stream (after the
        // evaluation points, so the training and test data equal those of a run without selection).
        var validation: (x0: Tensor, x1: Tensor)? = nil
        if selectEvery > 0 {
            var valRNG = RandomGenerator(seed: seed ^ 0x5E1E_C7ED)
            let x1 = target.hasSuffix(".npy") ? selectRows(testTarget, Array(0..<Swift.min(valPoints, testTarget.shape[0])))
                : ToyDistribution(rawValue: targetName)!.sample(valPoints, rng: &valRNG)
            let x0 = sourceDist?.sample(x1.shape[0], rng: &valRNG) ?? valRNG.normal([x1.shape[0], dim])
            validation = (x0, x1)
        }

        var bar = ProgressBar("fm \(method) \(source)→\(target)", total: totalSteps)
        let t0 = now()
        let loss: Float
        var selection: (step: Int, loss: Float)? = nil
        if let validation {
            // Train in chunks of E epochs; after each, the validation loss with the matcher's generator saved and
            // restored, so training follows exactly the path of a run without selection.
            let chunk = selectEvery * ((rows + batch - 1) / batch)
            var done = 0, last: Float = .nan
            var best = matcher.model.stateDict(), bestLoss = Float.infinity
            while done < totalSteps {
                let n = Swift.min(chunk, totalSteps - done)
                last = try matcher.fit(target: trainTarget, labels: trainLabels, source: trainSource, steps: n) { s, _, l in
                    bar.update(done + s, detail: "loss \(format3("", Double(l)))"); return true
                }
                done += n
                let saved = matcher.rng
                let v = withoutGradients { matcher.loss(x0: validation.x0, x1: validation.x1).value.scalar }
                matcher.rng = saved
                if v < bestLoss { bestLoss = v; best = matcher.model.stateDict(); selection = (done, v) }
            }
            try matcher.model.loadStateDict(best)
            loss = last
        } else {
            loss = try matcher.fit(target: trainTarget, labels: trainLabels, source: trainSource, steps: totalSteps) { s, _, l in
                bar.update(s, detail: "loss \(format3("", Double(l)))"); return true
            }
        }
        let trainSeconds = now() - t0

        // Sampling from fresh source points.
        let evalSource = sourceDist?.sample(evalPoints, rng: &rng) ?? rng.normal([evalPoints, dim])
        var options = ODEOptions(); options.steps = solverSteps; options.rtol = tol; options.atol = tol
        let t1 = now()
        // Conditional models: sample i takes the label of test point i (the same class mix as the test set).
        let solution = try matcher.transport(evalSource, labels: testLabels, guidance: guide, method: odeMethod, options: options)
        let sampleSeconds = now() - t1
        if let writeSamples { try writeNpy(solution.state, to: writeSamples) }
        if let writeTest { try writeNpy(testTarget, to: writeTest) }
        fputs("evaluating W2 on \(nW2) points…\n", stderr)
        let first = Array(0..<Swift.min(nW2, testTarget.shape[0]))
        let w2Samples = selectRows(solution.state, first), w2Test = selectRows(testTarget, first)
        let w2SourcePoints = selectRows(evalSource, first)
        let w2 = wasserstein2(w2Samples, w2Test)
        let energy = pathEnergy(model: matcher.model, x0: w2SourcePoints, steps: 100, labels: testLabels.map { l in first.map { l[$0] } })
        let w2Source = wasserstein2(w2SourcePoints, w2Test)
        let npe = normalizedPathEnergy(energy: energy, w2: w2Source)
        // Finite-sample floor: W2 between two independent draws of the target of the same size.
        let w2Floor = floorSample.map { wasserstein2($0, w2Test) }
        var nll: Double? = nil
        if sourceDist == nil {
            let rowsNLL = Array(0..<Swift.min(500, testTarget.shape[0]))
            let subset = selectRows(testTarget, rowsNLL)
            var lo = ODEOptions(); lo.rtol = 1e-5; lo.atol = 1e-5
            // Conditional models: log p(x | c) with each test point's own label.
            let (logp, _) = try FlowMatching.logLikelihood(model: matcher.model, x: subset, estimator: dim <= 64 ? .exact : .hutchinson(probes: 8),
                                                           method: .dopri5, options: lo, seed: seed,
                                                           labels: testLabels.map { l in rowsNLL.map { l[$0] } })
            nll = -logp.reduce(0.0) { $0 + Double($1) } / Double(logp.count)
        }
        if let save { try matcher.save(to: save) }
        if let plot {
            var trajOptions = ODEOptions(); trajOptions.steps = 50; trajOptions.recordTrajectory = true
            let few = selectRows(evalSource, Array(0..<Swift.min(40, evalPoints)))
            let fewLabels = testLabels.map { l in Array(l[0..<few.shape[0]]) }
            let traj = try matcher.transport(few, labels: fewLabels, guidance: guide, method: .euler, options: trajOptions)
            try writeFlowSVG(path: plot, target: testTarget, samples: solution.state, trajectories: traj.trajectory,
                             title: "\(method) \(source) → \(target): W2 \(format3("", w2))")
        }
        let stepsPerSecond = Double(totalSteps) / Swift.max(trainSeconds, 1e-9)
        print("\(method) \(source)→\(target): \(totalSteps) steps in \(format3("", trainSeconds)) s (\(format3("", stepsPerSecond)) steps/s), final loss \(format3("", Double(loss)))")
        if let selection { print("weights of step \(selection.step) (lowest validation loss \(format3("", Double(selection.loss)))) evaluated") }
        print("W2 \(format3("", w2)) (exact, \(first.count) vs \(first.count)" + (w2Floor.map { "; two target draws: \(format3("", $0))" } ?? "") + "), NPE \(format3("", npe)), NFE \(solution.nfe) (\(solver)), sampling \(format3("", sampleSeconds)) s" + (nll.map { ", NLL \(format3("", $0))" } ?? ""))
        if common.json {
            var fields: [(String, JSONValue)] = [
                ("method", .string(method)), ("source", .string(source)), ("target", .string(target)),
                ("w2", .number(w2)), ("w2_floor", w2Floor.map { .number($0) } ?? .null), ("npe", .number(npe)), ("nfe", .number(Double(solution.nfe))),
                ("nll", nll.map { .number($0) } ?? .null), ("loss", .number(Double(loss))),
                ("steps", .number(Double(totalSteps))), ("train_seconds", .number(trainSeconds)),
                ("steps_per_s", .number(stepsPerSecond)), ("sample_seconds", .number(sampleSeconds)),
                ("eval_points", .number(Double(evalPoints))), ("w2_points", .number(Double(first.count))),
                ("path_energy", .number(energy)), ("w2_source", .number(w2Source)), ("seed", .number(Double(seed))),
                ("conditional", .bool(conditional)), ("classes", .number(Double(classes))),
                ("guidance", guidance.map { .number(Double($0)) } ?? .null),
            ]
            fields.append(("blas_core", .string(BLAS.coreName)))
            if let selection {
                fields.append(("selected_step", .number(Double(selection.step))))
                fields.append(("selected_val_loss", .number(Double(selection.loss))))
            }
            print(JSONValue.object(fields).serialized())
        }
    }
}

/// A hand-written SVG: target points (grey), generated samples (blue), trajectories (orange).
func writeFlowSVG(path: String, target: Tensor, samples: Tensor, trajectories: [Tensor], title: String) throws {
    let size = 640.0, margin = 20.0
    var lo = (Double.infinity, Double.infinity), hi = (-Double.infinity, -Double.infinity)
    func extend(_ t: Tensor) {
        for i in 0..<t.shape[0] {
            let x = Double(t[flat: i * t.shape[1]]), y = Double(t[flat: i * t.shape[1] + 1])
            lo = (Swift.min(lo.0, x), Swift.min(lo.1, y)); hi = (Swift.max(hi.0, x), Swift.max(hi.1, y))
        }
    }
    guard target.shape[1] >= 2 else { throw ValidationError("--plot needs at least 2 dimensions") }
    extend(target); extend(samples); for t in trajectories { extend(t) }
    let span = Swift.max(hi.0 - lo.0, hi.1 - lo.1, 1e-6)
    func px(_ x: Double) -> String { format3("", margin + (x - lo.0) / span * (size - 2 * margin)) }
    func py(_ y: Double) -> String { format3("", size - margin - (y - lo.1) / span * (size - 2 * margin)) }
    var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(size))\" height=\"\(Int(size) + 24)\" viewBox=\"0 0 \(Int(size)) \(Int(size) + 24)\">\n"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    func dots(_ t: Tensor, _ color: String) {
        for i in 0..<t.shape[0] {
            let x = Double(t[flat: i * t.shape[1]]), y = Double(t[flat: i * t.shape[1] + 1])
            svg += "<circle cx=\"\(px(x))\" cy=\"\(py(y))\" r=\"1.5\" fill=\"\(color)\" fill-opacity=\"0.5\"/>\n"
        }
    }
    dots(target, "#888888")
    dots(samples, "#1f77b4")
    if let first = trajectories.first {
        for i in 0..<first.shape[0] {
            let d = first.shape[1]
            let pts = trajectories.map { "\(px(Double($0[flat: i * d]))),\(py(Double($0[flat: i * d + 1])))" }.joined(separator: " ")
            svg += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"1\"/>\n"
        }
    }
    var escaped = ""
    for ch in title { escaped += ch == "&" ? "&amp;" : ch == "<" ? "&lt;" : ch == ">" ? "&gt;" : String(ch) }
    svg += "<text x=\"10\" y=\"\(Int(size) + 16)\" font-family=\"sans-serif\" font-size=\"13\">\(escaped) — grey: target, blue: samples, orange: trajectories</text>\n</svg>\n"
    guard let file = fopen(path, "w") else { throw ValidationError("cannot open \(path) for writing") }
    defer { fclose(file) }
    guard fputs(svg, file) >= 0 else { throw ValidationError("cannot write \(path)") }
}
