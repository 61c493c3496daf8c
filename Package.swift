// swift-tools-version: 6.1
// Canarygate: a reverse proxy that runs its own canary rollouts.
import PackageDescription

/// The data path is single-threaded per loop and its types are never accessed re-entrantly; dynamic
/// exclusivity checks cost ~4% of CPU per request there (measured with perf), so release builds drop them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "canarygate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "canarygate", targets: ["canarygate"]),
        // For the micro-benchmarks package under benchmarks/.
        .library(name: "CanarygateTelemetry", targets: ["Telemetry"]),
        // For the judges' simulation under benchmarks/analysis.
        .library(name: "CanarygateAnalysis", targets: ["Analysis"]),
        // Seeded random traffic for the judges' calibration tests and benchmarks/analysis; not used by the proxy.
        .library(name: "CanarygateSimulation", targets: ["Simulation"]),
        // The rollout state machine, driven on a virtual clock by benchmarks/analysis.
        .library(name: "CanarygateRollout", targets: ["Rollout"]),
        // The HTTP/1.1 parsers and the config decoder, for the libFuzzer targets under fuzz/.
        .library(name: "CanarygateHTTP", targets: ["HTTP"]),
        .library(name: "CanarygateConfig", targets: ["Config"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // Leaves: what Glibc hides (epoll, eventfd, signalfd, accept4).
        .target(name: "CLinuxShims"),
        // Syscalls, buffers, the epoll reactor, deadlines.
        .target(name: "EventLoop", dependencies: ["CLinuxShims"], swiftSettings: hotPath),
        // libssl through pkg-config; the shim wraps the macros Swift cannot import.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // TLS termination: contexts (certificates, ALPN) and non-blocking sessions.
        .target(name: "TLS", dependencies: ["COpenSSL", "EventLoop"], swiftSettings: hotPath),
        // libnghttp2 through pkg-config.
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        // HTTP/2 framing, HPACK and flow control (libnghttp2) as a session: bytes in, events out, no sockets.
        .target(name: "HTTP2", dependencies: ["CNGHTTP2"], swiftSettings: hotPath),
        // HTTP/1.1 parsing and serialisation: bytes in, heads out, no sockets.
        .target(name: "HTTP", swiftSettings: hotPath),
        // Lock-free per-loop metrics shards, histograms, snapshots and deltas, Prometheus text.
        .target(name: "Telemetry", swiftSettings: hotPath),
        // Config schema, YAML decoding, validation with line-precise errors.
        .target(name: "Config", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The judges: pure functions from windows of counts and histograms to verdicts with evidence.
        .target(name: "Analysis", dependencies: ["Telemetry", "Config"]),
        // Seeded random traffic for the judges' calibration tests and benchmarks/analysis; not used by the proxy.
        .target(name: "Simulation"),
        // The rollout state machine (events in, actions out), hooks (https webhooks use TLS's client sessions), the state file.
        .target(name: "Rollout", dependencies: ["Analysis", "Config", "TLS", "EventLoop"]),
        // Listeners, routing + split, upstream pools, the exchange of one request.
        .target(name: "Proxy", dependencies: [
            "EventLoop", "HTTP", "HTTP2", "Config", "CLinuxShims", "Telemetry", "TLS",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: hotPath),
        // Fleet mode: the etcd client (its JSON gateway), leader election, the replicas' evidence and the shared state.
        .target(name: "Cluster", dependencies: [
            "Config", "Telemetry", "TLS", "EventLoop", "Rollout", "HTTP", "CLinuxShims", .product(name: "Logging", package: "swift-log"),
        ]),
        // Wiring: server, admin API.
        .target(name: "Canarygate", dependencies: [
            "Proxy", "Config", "EventLoop", "CLinuxShims", "Telemetry", "Analysis", "Rollout", "Cluster",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "canarygate", dependencies: [
            "Canarygate", "Config",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "EventLoop"]),
        .testTarget(name: "HTTP2Tests", dependencies: ["HTTP2", "CNGHTTP2"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "Telemetry", "Config", "Simulation"]),
        .testTarget(name: "RolloutTests", dependencies: ["Rollout", "Analysis", "Config"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Config", "Telemetry", "Rollout", "Simulation"]),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "Config", "EventLoop", "HTTP2", "Telemetry", "Simulation", "TLS",
                                                    .product(name: "Logging", package: "swift-log")]),
        // The control plane's state machines (admin requests and access rules), without sockets.
        .testTarget(name: "CanarygateTests", dependencies: ["Canarygate", "Config"]),
        .testTarget(name: "IntegrationTests", dependencies: ["canarygate", "Cluster", "Config"],
                    // Python peers the tests run as child processes (HTTP/2 with Debian's python3-h2, WebSocket, TLS, a browser).
                    exclude: ["Support/h2client.py", "Support/h2upstream.py", "Support/tls_records.py", "Support/judge_backend.py",
                              "Support/tls_close_upstream.py", "Support/cdp_browser.py", "Support/https_receiver.py",
                              "Support/ws_backend.py", "Support/ws_frames.py", "Support/ws_h2client.py", "Support/ws_tls_client.py"]),
    ]
)
