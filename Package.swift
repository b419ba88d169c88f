// swift-tools-version:6.0
// flowgen — generative flows and graph learning for native code.
// Targets and their one-way dependencies are described in docs/ARCHITECTURE.md.
import PackageDescription

/// Compiler settings shared by every Swift target: a stated CPU baseline (x86-64-v3: AVX2 + FMA, see
/// docs/ARCHITECTURE.md) and no dynamic exclusivity checks in the numeric loops.
let numericSwiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell", "-enforce-exclusivity=unchecked"]),
    .swiftLanguageMode(.v5),
]
let numericCSettings: [CSetting] = [.unsafeFlags(["-march=haswell", "-O3", "-fno-math-errno"])]

let package = Package(
    name: "flowgen",
    products: [
        // The C ABI. scripts/build-lib.sh links it with a static Swift runtime, a SONAME and a
        // version script, and ships it as libflowgen.so.
        .library(name: "flowgen_capi", type: .dynamic, targets: ["FlowGenCAPI"]),
        .library(name: "FlowGen", targets: ["FlowGen"]),
        .executable(name: "flowgen", targets: ["flowgen-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CFlowSupport", cSettings: numericCSettings),
        .target(name: "FlowTensor", dependencies: ["CBLAS", "CFlowSupport"],
                swiftSettings: numericSwiftSettings, linkerSettings: [.linkedLibrary("m")]),
        .target(name: "FlowAutodiff", dependencies: ["FlowTensor"], swiftSettings: numericSwiftSettings),
        .target(name: "FlowNN", dependencies: ["FlowAutodiff"], swiftSettings: numericSwiftSettings),
        .target(name: "FlowOptim", dependencies: ["FlowNN"], swiftSettings: numericSwiftSettings),
        .target(name: "GFlowNet", dependencies: ["FlowNN", "FlowOptim"], swiftSettings: numericSwiftSettings),
        .target(name: "FlowMatching", dependencies: ["FlowNN", "FlowOptim"], exclude: ["README.md"],
                swiftSettings: numericSwiftSettings),
        .target(name: "FlowGraph", dependencies: ["FlowNN", "FlowOptim"], exclude: ["README.md"],
                swiftSettings: numericSwiftSettings),
        .target(name: "FlowGen", dependencies: ["FlowTensor", "FlowAutodiff", "FlowNN", "FlowOptim",
                                                "GFlowNet", "FlowMatching", "FlowGraph"],
                swiftSettings: numericSwiftSettings),
        .target(name: "CFlowGenABI"),
        .target(name: "FlowGenCAPI", dependencies: ["FlowGen", "CFlowSupport", "CFlowGenABI", "CBLAS"],
                swiftSettings: numericSwiftSettings),
        .executableTarget(name: "flowgen-cli",
                          dependencies: ["FlowGen", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: numericSwiftSettings),
        .target(name: "_FlowGenTestSupport", dependencies: ["FlowGen"], path: "Tests/_FlowGenTestSupport",
                swiftSettings: numericSwiftSettings),
        .testTarget(name: "FlowTensorTests", dependencies: ["FlowGen", "_FlowGenTestSupport"],
                    swiftSettings: numericSwiftSettings),
        .testTarget(name: "FlowAutodiffTests", dependencies: ["FlowGen", "_FlowGenTestSupport"],
                    swiftSettings: numericSwiftSettings),
        .testTarget(name: "FlowNNTests", dependencies: ["FlowGen", "_FlowGenTestSupport"],
                    swiftSettings: numericSwiftSettings),
        .testTarget(name: "GFlowNetTests", dependencies: ["FlowGen", "_FlowGenTestSupport"],
                    swiftSettings: numericSwiftSettings),
        .testTarget(name: "FlowMatchingTests", dependencies: ["FlowGen", "_FlowGenTestSupport"],
                    swiftSettings: numericSwiftSettings),
        .testTarget(name: "FlowGraphTests", dependencies: ["FlowGen", "_FlowGenTestSupport"],
                    swiftSettings: numericSwiftSettings),
        .testTarget(name: "FlowGenCAPITests", dependencies: ["FlowGenCAPI", "_FlowGenTestSupport"],
                    swiftSettings: numericSwiftSettings),
    ]
)
