import ArgumentParser
import FlowGen

/// The `flowgen` command: train, sample, evaluate and benchmark from the shell. Every subcommand accepts
/// `--json` and then prints one JSON object as the last line of stdout; progress goes to stderr.
@main
struct FlowgenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowgen",
        abstract: "Generative flows and graph learning on the CPU.",
        subcommands: [VersionCommand.self, BenchCommand.self, MLPCommand.self, GFlowNetCommand.self, LinkPredCommand.self, NodeClassCommand.self, FlowMatchingCommand.self])
}

/// Options every subcommand shares.
struct CommonOptions: ParsableArguments {
    @Flag(help: "Print one JSON object with the results as the last line of stdout.")
    var json = false
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the library version and BLAS backend.")
    @OptionGroup var common: CommonOptions

    func run() {
        let fields: [(String, JSONValue)] = [
            ("version", .string(flowgenVersion)),
            ("blas_core", .string(BLAS.coreName)),
            ("blas_threads", .number(Double(BLAS.threadCount))),
        ]
        if common.json {
            print(JSONValue.object(fields).serialized())
        } else {
            print("flowgen \(flowgenVersion) (OpenBLAS core \(BLAS.coreName), \(BLAS.threadCount) threads)")
        }
    }
}

let flowgenVersion = "0.1.0"
