// Runs the demo: two backends, the proxy at the requested canary weight, a keep-alive load, and a report of the split.
import Config
import EventLoop
import Glibc
import Logging

public enum DemoRun {
    public static func run(weight: Int, requests: Int, logger: Logger) throws -> String {
        let primary = try DemoBackend(revision: "v1")
        let canary = try DemoBackend(revision: "v2")
        defer { primary.stop(); canary.stop() }
        let proxyPort = try freePort()
        let adminPort = try freePort()

        var config = CanarygateConfig()
        config.admin = AdminConfig(address: HostPort(host: "127.0.0.1", port: adminPort))
        config.listeners = [ListenerConfig(name: "demo", address: HostPort(host: "127.0.0.1", port: proxyPort))]
        config.threads = 1
        config.routes = [RouteConfig(
            name: "demo", match: MatchConfig(),
            primary: ArmConfig(revision: "v1", endpoints: [HostPort(host: "127.0.0.1", port: primary.port)]),
            canary: CanaryConfig(arm: ArmConfig(revision: "v2", endpoints: [HostPort(host: "127.0.0.1", port: canary.port)]), weight: weight))]
        let server = try Server.start(config: config, configPath: nil, threadCount: 1, logger: logger)
        defer { server.stop() }

        var counts: [String: Int] = [:]
        var failures = 0
        let client = try DemoClient(port: proxyPort)
        let started = MonotonicClock.nowNanoseconds()
        for _ in 0..<requests {
            if let (status, body) = client.get("/") , status == 200 {
                counts[body.trimmingCharacters(in: "\n"), default: 0] += 1
            } else {
                failures += 1
            }
        }
        let seconds = Double(MonotonicClock.nowNanoseconds() - started) / 1e9
        let toCanary = counts["hello from v2"] ?? 0
        let toPrimary = counts["hello from v1"] ?? 0
        return """
        canarygate demo: proxy on 127.0.0.1:\(proxyPort), primary v1 on :\(primary.port), canary v2 on :\(canary.port)
        route "demo": canary weight \(weight)%
        sent \(requests) requests over one keep-alive connection in \(fixed(seconds, 2)) s
          primary v1: \(toPrimary)
          canary  v2: \(toCanary) (\(fixed(Double(toCanary) * 100 / Double(max(1, requests)), 1))%)
          failed:     \(failures)
        status: curl http://127.0.0.1:\(adminPort)/status while it runs; this demo stops after the load.
        """
    }

    static func freePort() throws -> UInt16 {
        let fd = try SocketDescriptor.listen(on: try SocketAddress.resolve(host: "127.0.0.1", port: 0))
        defer { fd.close() }
        return boundPort(fd)
    }
}

/// `x` with `digits` decimals, without Foundation's String(format:).
func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((x * scale).rounded())
    let whole = scaled / Int(scale), frac = abs(scaled % Int(scale))
    let fracText = String(frac)
    return "\(whole)." + String(repeating: "0", count: digits - fracText.count) + fracText
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        var s = Substring(self)
        while s.last == character { s.removeLast() }
        return String(s)
    }
}
