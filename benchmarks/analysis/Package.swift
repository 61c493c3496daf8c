// swift-tools-version: 6.1
// judge-sim: time to detect and false-rollback rate of Canarygate's judges vs a Flagger-equivalent setup.
import PackageDescription

let package = Package(
    name: "analysis-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "canarygate", path: "../..")],
    targets: [
        .executableTarget(name: "judge-sim", dependencies: [
            .product(name: "CanarygateAnalysis", package: "canarygate"),
            .product(name: "CanarygateSimulation", package: "canarygate"),
        ]),
    ]
)
