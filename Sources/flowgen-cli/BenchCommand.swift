#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FlowGen

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks.",
                                                    subcommands: [BenchEngine.self])
}

/// One Adam training step of three MLP shapes (the issue's cases) and sgemm throughput.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Time one Adam step of MLPs (a) 256×[2,64,64,64,2] SELU, (b) 16×[32,256,256,9] LeakyReLU, (c) 512×[1433,256,256,7] ReLU, and sgemm GFLOP/s.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Seconds to spend measuring each case.") var seconds: Double = 2
    @Option(help: "BLAS threads (0 = leave OpenBLAS's default).") var threads: Int = 0
    @Option(help: "Comma-separated cases to run (a,b,c).") var cases: String = "a,b,c"

    struct Case { let name: String; let batch: Int; let widths: [Int]; let activation: ActivationKind }
    static let cases = [
        Case(name: "a", batch: 256, widths: [2, 64, 64, 64, 2], activation: .selu),
        Case(name: "b", batch: 16, widths: [32, 256, 256, 9], activation: .leakyRelu),
        Case(name: "c", batch: 512, widths: [1433, 256, 256, 7], activation: .relu),
    ]

    func run() throws {
        if threads > 0 { BLAS.setThreadCount(threads) }
        var fields: [(String, JSONValue)] = [
            ("blas_core", .string(BLAS.coreName)), ("threads", .number(Double(BLAS.threadCount))),
        ]
        fputsErr("flowgen bench engine: OpenBLAS core \(BLAS.coreName), \(BLAS.threadCount) threads\n")
        let selected = Set(cases.split(separator: ",").map(String.init))
        for c in Self.cases where selected.contains(c.name) {
            let micros = timeTrainingStep(c)
            fputsErr(String(format3("case (\(c.name)) batch \(c.batch) \(c.widths) \(c.activation.rawValue): ", micros)) + " µs/step\n")
            fields.append(("step_us_\(c.name)", .number(micros)))
        }
        for n in [256, 1024] {
            let g = sgemmGFlops(n)
            fputsErr("sgemm \(n)³: \(format3("", g)) GFLOP/s\n")
            fields.append(("sgemm_gflops_\(n)", .number(g)))
        }
        if common.json { print(JSONValue.object(fields).serialized()) }
    }

    /// Median microseconds of one forward + backward + Adam step (regression MSE on random data).
    func timeTrainingStep(_ c: Case) -> Double {
        var rng = RandomGenerator(seed: 1)
        let mlp = MLP(widths: c.widths, activation: c.activation, rng: &rng)
        let optimizer = Adam(parameters: mlp.parameters, learningRate: 1e-3)
        let x = rng.normal([c.batch, c.widths[0]])
        let y = rng.normal([c.batch, c.widths.last!])
        func step() {
            optimizer.clearGradients()
            let loss = meanSquaredError(predicted: mlp(Variable(x)), expected: y)
            loss.backward()
            optimizer.step()
        }
        for _ in 0..<20 { step() }
        var samples: [Double] = []
        let start = now()
        var bar = ProgressBar("case (\(c.name))", total: 100)
        while now() - start < seconds || samples.count < 10 {
            let t0 = now()
            for _ in 0..<10 { step() }
            samples.append((now() - t0) / 10 * 1e6)
            bar.update(Int((now() - start) / seconds * 100))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    func sgemmGFlops(_ n: Int) -> Double {
        var rng = RandomGenerator(seed: 2)
        let a = rng.normal([n, n]), b = rng.normal([n, n])
        _ = a.matmul(b)
        var reps = 0
        let start = now()
        while now() - start < seconds / 2 || reps < 3 { _ = a.matmul(b); reps += 1 }
        let elapsed = now() - start
        return 2 * Double(n * n * n) * Double(reps) / elapsed / 1e9
    }
}

func fputsErr(_ s: String) { fputs(s, stderr) }

func format3(_ prefix: String, _ v: Double) -> String {
    let scaled = (v * 1000).rounded() / 1000
    return "\(prefix)\(scaled)"
}
