// Runs the demo: two backends (the canary optionally faulty), the proxy with a managed route, a steady load,
// and the rollout shown live until it succeeds or rolls back.
import Analysis
import Config
import EventLoop
import Foundation
import Glibc
import Logging
import Rollout
import Synchronization
import Telemetry

public enum DemoRun {
    public struct Options: Sendable {
        public var faulty: Bool
        public var requestsPerSecond: Int
        public var timeLimitSeconds: Int
        public init(faulty: Bool, requestsPerSecond: Int, timeLimitSeconds: Int) {
            self.faulty = faulty
            self.requestsPerSecond = requestsPerSecond
            self.timeLimitSeconds = timeLimitSeconds
        }
    }

    /// Returns the final phase's name ("Succeeded" or "Failed"), printing the rollout as it goes.
    public static func run(_ options: Options, logger: Logger, print say: (String) -> Void) throws -> String {
        let primary = try DemoBackend(revision: "v1")
        // A faulty canary fails 30% of its requests.
        let canary = try DemoBackend(revision: "v2", errorPercent: options.faulty ? 30 : 0)
        defer { primary.stop(); canary.stop() }
        let proxyPort = try freePort(), adminPort = try freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canarygate-demo-\(getpid())")
        // Owner-only: the state file refuses a directory others can write (a umask of 002 would allow the group).
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: directory) }
        let configPath = directory.appendingPathComponent("canarygate.yaml").path

        func writeConfig(primaryRevision: String, primaryPort: UInt16) throws {
            try Self.config(
                proxyPort: proxyPort, adminPort: adminPort, primaryRevision: primaryRevision, primaryPort: primaryPort,
                canaryPort: canary.port, statePath: directory.appendingPathComponent("state.json").path
            )
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        }
        try writeConfig(primaryRevision: "v1", primaryPort: primary.port)
        let config = try ConfigLoader.load(path: configPath)
        let server = try Server.start(config: config, configPath: configPath, threadCount: 1, logger: logger)
        defer { server.stop() }

        say(
            "canarygate demo: proxy on 127.0.0.1:\(proxyPort) (admin 127.0.0.1:\(adminPort)), primary v1 on :\(primary.port), "
                + "canary v2 on :\(canary.port)\(options.faulty ? " (faulty: 30% of its requests fail)" : "")")
        say(
            "analysis: every 1s, step 10% up to 50%, success rate >= 99%, p99 <= 500ms, compared with the primary, "
                + "sequential test at alpha 0.01; each step needs evidence that the canary is at most 5 points worse "
                + "in every outcome class (the default margin of 1 point needs over a thousand requests per step)\n")

        let load = DemoLoad(port: proxyPort, requestsPerSecond: options.requestsPerSecond)
        defer { load.stop() }

        let started = MonotonicClock.nowNanoseconds()
        var previous = server.state.metrics.snapshot()
        var lastPrint = started
        var deployed = false
        var seenVerdicts = Set<String>()
        while MonotonicClock.nowNanoseconds() - started < UInt64(options.timeLimitSeconds) * 1_000_000_000 {
            usleep(100_000)
            server.tickRollouts()
            guard let rollout = server.rolloutStatuses.first?.state else { continue }
            let now = MonotonicClock.nowNanoseconds()
            for v in rollout.lastVerdicts where !seenVerdicts.contains(v.summary) {
                seenVerdicts.insert(v.summary)
                say("    \(v.outcome == "fail" ? "✗" : v.outcome == "pass" ? "✓" : "·") \(v.judge): \(v.summary)")
            }
            if now - lastPrint >= 1_000_000_000 {
                let current = server.state.metrics.snapshot()
                say(line(rollout, window: current.delta(since: previous).route(named: "demo"), elapsed: now - started))
                previous = current
                lastPrint = now
            }
            if rollout.phase == .promoted && !deployed {
                // What a promote hook would do: deploy v2 as the primary, then reload.
                say("  → promoted: deploying v2 as the primary and reloading the config")
                try writeConfig(primaryRevision: "v2", primaryPort: canary.port)
                server.reload()
                deployed = true
            }
            if rollout.phase == .succeeded || rollout.phase == .failed {
                let failed = load.failures.load(ordering: .relaxed)
                say("\nfinal phase: \(rollout.phase.rawValue) — \(rollout.message)")
                say("load: \(load.sent.load(ordering: .relaxed)) requests, \(failed) answered with an error")
                return rollout.phase.rawValue
            }
        }
        say("\ntime limit reached in phase \(server.rolloutStatuses.first?.state.phase.rawValue ?? "?")")
        return server.rolloutStatuses.first?.state.phase.rawValue ?? "unknown"
    }

    /// One status line: elapsed time, phase, a weight bar, each arm's success rate and p99 over the last second.
    static func line(_ r: RolloutState, window: RouteSnapshot?, elapsed: UInt64) -> String {
        let filled = r.canaryWeight / 5
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: 20 - filled)
        func arm(_ a: ArmSnapshot?) -> String {
            guard let a, a.responses > 0 else { return "   -            " }
            let ok = 100 * Double(a.responses - a.serverErrors) / Double(a.responses)
            let p99 = (a.histogram.quantile(0.99) ?? 0) * 1000
            return "\(Format.fixed(ok, 1))% p99 \(Format.fixed(p99, 1))ms"
        }
        return
            "\(String(elapsed / 1_000_000_000).padding(3))s  \(r.phase.rawValue.padding(16)) [\(bar)] \(String(r.canaryWeight).padding(3))%"
            + "  primary \(arm(window?.primary))  canary \(arm(window?.canary))"
    }

    static func config(
        proxyPort: UInt16, adminPort: UInt16, primaryRevision: String, primaryPort: UInt16, canaryPort: UInt16,
        statePath: String
    ) -> String {
        """
        admin: { address: "127.0.0.1:\(adminPort)" }
        listeners: [ { name: demo, address: "127.0.0.1:\(proxyPort)" } ]
        threads: 1
        state: { path: "\(statePath)" }
        routes:
          - name: demo
            primary: { revision: \(primaryRevision), endpoints: ["127.0.0.1:\(primaryPort)"] }
            canary:  { revision: v2, endpoints: ["127.0.0.1:\(canaryPort)"] }
            analysis:
              interval: 1s
              threshold: 2
              stepWeight: 10
              maxWeight: 50
              minRequests: 10
              progressDeadline: 30s
              comparison: { allowedErrorRateIncrease: 5 }
              metrics:
                - name: request-success-rate
                  thresholdRange: { min: 99 }
                - name: request-duration
                  thresholdRange: { max: 500 }
        """
    }

    static func freePort() throws -> UInt16 {
        let fd = try SocketDescriptor.listen(on: try SocketAddress.resolve(host: "127.0.0.1", port: 0))
        defer { fd.close() }
        return try fd.localAddress().port
    }
}

/// Steady demo traffic: one keep-alive client thread pacing its requests.
final class DemoLoad: Sendable {
    let sent = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    init(port: UInt16, requestsPerSecond: Int) {
        let pause = UInt32(1_000_000 / max(1, requestsPerSecond))
        LoopThread.spawn { [self] in
            var client = try? DemoClient(port: port)
            while !stopping.load(ordering: .relaxed) {
                if client == nil { client = try? DemoClient(port: port) }
                let answer = client?.get("/")
                sent.wrappingAdd(1, ordering: .relaxed)
                if answer == nil { client = nil }
                if answer?.0 != 200 { failures.wrappingAdd(1, ordering: .relaxed) }
                usleep(pause)
            }
        }.detach()
    }

    func stop() { stopping.store(true, ordering: .relaxed) }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
