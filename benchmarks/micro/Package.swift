// swift-tools-version: 6.1
// Micro-benchmarks of Canarygate's hot-path pieces (ordo-one/benchmark); run with
// `swift package --package-path benchmarks/micro benchmark` from the repository root.
import PackageDescription

let package = Package(
    name: "canarygate-micro-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "canarygate", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "TelemetryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CanarygateTelemetry", package: "canarygate"),
            ],
            path: "Benchmarks/TelemetryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
