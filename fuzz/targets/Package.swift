// swift-tools-version: 6.1
// libFuzzer targets for Canarygate's parsers (a package of its own so the main build never needs the fuzzer runtime);
// build and run them with `fuzz/run.sh TARGET SECONDS` from the repository root.
import PackageDescription

let package = Package(
    name: "canarygate-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "canarygate", path: "../.."),
    ],
    targets: [
        // Deterministic input splitting and the invariant check every target reports through.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", .product(name: "CanarygateHTTP", package: "canarygate")]),
        // The declaration of libFuzzer's driver entry; the symbol comes from the runtime -sanitize=fuzzer links.
        .systemLibrary(name: "CLibFuzzer"),
        // nghttp2's own field validators, so the HTTP/2 path is fed exactly what the decoder lets through.
        .systemLibrary(name: "CNGHTTP2Checks", pkgConfig: "libnghttp2"),
        .executableTarget(name: "http1-request", dependencies: [
            "FuzzSupport", "CNGHTTP2Checks", .product(name: "CanarygateHTTP", package: "canarygate"),
        ]),
        .executableTarget(name: "http1-response", dependencies: [
            "FuzzSupport", .product(name: "CanarygateHTTP", package: "canarygate"),
        ]),
        .executableTarget(name: "chunked", dependencies: [
            "FuzzSupport", .product(name: "CanarygateHTTP", package: "canarygate"),
        ]),
        .executableTarget(name: "config", dependencies: [
            "FuzzSupport", .product(name: "CanarygateConfig", package: "canarygate"),
        ]),
    ]
)
