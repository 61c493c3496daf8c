// swift-tools-version: 6.1
// judge-sim: whole rollouts on a virtual clock through Canarygate's judges and rollout machine, under nulls and regressions.
import PackageDescription

let package = Package(
    name: "analysis-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "canarygate", path: "../..")],
    targets: [
        .executableTarget(name: "judge-sim", dependencies: [
            .product(name: "CanarygateAnalysis", package: "canarygate"),
            .product(name: "CanarygateSimulation", package: "canarygate"),
            .product(name: "CanarygateRollout", package: "canarygate"),
            .product(name: "CanarygateTelemetry", package: "canarygate"),
        ]),
    ]
)
