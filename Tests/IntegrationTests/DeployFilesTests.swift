// The files under deploy/ hold what they promise: the dashboard's queries parse and name metrics a live proxy exports,
// the Kubernetes manifests' configs load, the systemd unit verifies, the Dockerfile copies what exists.
import Config
import Foundation
import Testing
import Yams

extension Integration {
    @Suite("deploy/ files") struct DeployFiles {
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()

        static func text(_ path: String) throws -> String {
            try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        }

        // MARK: Grafana

        /// Every PromQL expression of the dashboard (panel targets, rows' panels, the route variable's query), with
        /// Grafana's `$__rate_interval` as a duration Prometheus reads (Grafana substitutes it before it queries).
        static func dashboardQueries() throws -> [String] {
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(try text("deploy/grafana-dashboard.json").utf8)) as? [String: Any])
            func panels(_ list: Any?) -> [[String: Any]] {
                (list as? [[String: Any]] ?? []).flatMap { [$0] + panels($0["panels"]) }
            }
            var queries = panels(json["panels"]).flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
            let variables = (json["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
            // label_values(METRIC, LABEL) is Grafana's; the metric inside it is a query of its own.
            for definition in variables.compactMap({ $0["definition"] as? String }) {
                if let match = definition.firstMatch(of: /label_values\((\w+),/) { queries.append(String(match.1)) }
            }
            return queries.map { $0.replacingOccurrences(of: "$__rate_interval", with: "1m") }
        }

        /// The metric names a query uses, histogram series (`_bucket`, `_sum`, `_count`) named by their family.
        static func metricNames(_ query: String) -> Set<String> {
            Set(query.matches(of: /canarygate_[a-z0-9_]+/).map { family(String($0.output)) })
        }

        static func family(_ name: String) -> String {
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
            return name
        }

        @Test func theDashboardIsJSONAndEachQueryParses() throws {
            let queries = try Self.dashboardQueries()
            #expect(queries.count >= 15, "\(queries.count) queries")
            let dir = try TempDir.make()
            defer { dir.remove() }
            // As recording rules, which promtool parses with Prometheus's PromQL parser (a JSON string is a YAML
            // string once its slashes are left unescaped).
            var rules = "groups:\n  - name: dashboard\n    rules:\n"
            for (i, query) in queries.enumerated() {
                let quoted = String(
                    decoding: try JSONSerialization.data(withJSONObject: query, options: [.fragmentsAllowed, .withoutEscapingSlashes]),
                    as: UTF8.self)
                rules += "      - record: dashboard:query_\(i)\n        expr: \(quoted)\n"
            }
            let file = try dir.write("rules.yml", rules)
            let check = try ChildProcess.run("/usr/bin/promtool", ["check", "rules", file.path])
            #expect(check.status == 0, "promtool:\n\(check.stdout)\(check.stderr)\n\(rules)")
            #expect(check.stdout.contains("SUCCESS: \(queries.count) rules found"), "\(check.stdout)")
        }

        /// A rollout with traffic on both arms, scraped: every metric the dashboard asks for is there.
        @Test func everyMetricTheDashboardUsesIsExported() throws {
            let used = try Self.dashboardQueries().reduce(into: Set<String>()) { $0.formUnion(Self.metricNames($1)) }
            #expect(used.count >= 12, "\(used.sorted())")
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.interval = "1s"
            spec.ignoreLoopbackLatencyJitter()
            try withRolloutProxy(spec) { proxy in
                try withLoad(proxy.port, clients: 2, pause: 0.005) { _ in
                    let (s, met) = try proxy.waitForRollout(timeout: 15) { $0.phase == "Progressing" && $0.weight > 0 }
                    #expect(met, "the rollout is under way: \(s)")
                    #expect(canary.waitForRequests(20, timeout: 5) && primary.requestCount > 0, "both arms served")
                    let exported = Set(try proxy.metrics().samples.map { Self.family($0.name) })
                    let missing = used.subtracting(exported)
                    #expect(missing.isEmpty, "not in the scrape: \(missing.sorted())")
                }
            }
        }

        // MARK: Kubernetes

        @Test(arguments: ["deploy/kubernetes/sidecar.yaml", "deploy/kubernetes/ingress.yaml"])
        func theManifestsConfigLoadsAndIsMounted(_ path: String) throws {
            let documents = try Yams.load_all(yaml: try Self.text(path)).compactMap { $0 as? [String: Any] }
            let kinds = documents.compactMap { $0["kind"] as? String }
            #expect(Set(kinds).isSuperset(of: ["ConfigMap", "Deployment", "Service"]), "\(path): \(kinds)")
            let maps = documents.filter { $0["kind"] as? String == "ConfigMap" }
            var mapNames: [String] = []
            for map in maps {
                let name = try #require((map["metadata"] as? [String: Any])?["name"] as? String)
                mapNames.append(name)
                let yaml = try #require(
                    (map["data"] as? [String: Any])?["canarygate.yaml"] as? String, "\(path): \(name) has canarygate.yaml")
                do {
                    let config = try ConfigLoader.parse(yaml)
                    #expect(config.routes.contains { $0.canary != nil && $0.analysis != nil }, "\(path): a managed route")
                    #expect(config.admin.address.host == "127.0.0.1", "\(path): the admin API stays on loopback without a token")
                    #expect(config.timeouts.drain < .seconds(30), "\(path): the drain ends within terminationGracePeriodSeconds")
                } catch {
                    Issue.record("\(path): \(name)'s canarygate.yaml does not load:\n\(error.description)")
                }
            }
            // The canarygate container reads the file the ConfigMap's volume puts where its arguments say.
            for deployment in documents where deployment["kind"] as? String == "Deployment" {
                let pod = ((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:]
                let container = try #require(
                    (pod["containers"] as? [[String: Any]])?.first { $0["name"] as? String == "canarygate" },
                    "\(path): a canarygate container")
                let args = container["args"] as? [String] ?? []
                let volumes = pod["volumes"] as? [[String: Any]] ?? []
                let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
                let mounted = mounts.compactMap { mount -> String? in
                    let volume = volumes.first { $0["name"] as? String == mount["name"] as? String }
                    guard let map = (volume?["configMap"] as? [String: Any])?["name"] as? String, mapNames.contains(map) else { return nil }
                    return (mount["mountPath"] as? String).map { $0 + "/canarygate.yaml" }
                }
                #expect(
                    args.first == "run" && mounted.contains { args.contains($0) }, "\(path): args \(args), config mounted at \(mounted)")
            }
        }

        // MARK: systemd

        static func unitSettings(_ text: String) -> [String: [String]] {
            text.split(separator: "\n").reduce(into: [:]) { settings, line in
                guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { return }
                settings[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
            }
        }

        @Test func theSystemdUnitIsHardenedAndVerifies() throws {
            let unit = try Self.text("deploy/canarygate.service")
            let settings = Self.unitSettings(unit)
            func value(_ key: String) -> String? { settings[key]?.last }
            #expect(value("ExecReload") == "/bin/kill -HUP $MAINPID")
            #expect(value("KillSignal") == "SIGTERM")
            #expect(value("DynamicUser") == "yes" && value("NoNewPrivileges") == "yes" && value("ProtectSystem") == "strict")
            #expect(value("StateDirectory") == "canarygate")
            #expect(value("AmbientCapabilities") == "CAP_NET_BIND_SERVICE" && value("CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE")
            #expect(value("SystemCallFilter") == "@system-service")
            for key in ["ProtectHome", "PrivateTmp", "PrivateDevices"] { #expect(value(key) == "yes", "\(key)") }
            #expect(value("RestrictAddressFamilies")?.contains("AF_INET6") == true && value("LimitNOFILE") != nil)
            // systemd must not kill a drain still within its deadline: the default config's drain, plus a margin.
            let drain = try ConfigLoader.parse(try Self.text("config/canarygate.yaml")).timeouts.drain
            let stop = try #require(value("TimeoutStopSec").flatMap { Int($0.replacingOccurrences(of: "s", with: "")) })
            #expect(Double(stop) > Double(drain.components.seconds) + 5, "TimeoutStopSec \(stop) s, drain \(drain)")
            let exec = try #require(value("ExecStart"))
            #expect(exec.hasSuffix("run --config /etc/canarygate/canarygate.yaml"), "\(exec)")

            let analyze = "/usr/bin/systemd-analyze"
            try #require(
                FileManager.default.isExecutableFile(atPath: analyze), "systemd-analyze (Debian's systemd package) verifies the unit")
            // verify checks that the commands exist: the built binary stands in for /usr/local/bin/canarygate.
            let dir = try TempDir.make()
            defer { dir.remove() }
            let file = try dir.write(
                "canarygate.service", unit.replacingOccurrences(of: "/usr/local/bin/canarygate", with: try CanarygateBinary.path()))
            let verify = try ChildProcess.run(analyze, ["verify", file.path])
            let complaints = (verify.stdout + verify.stderr).split(separator: "\n").filter { $0.contains("canarygate.service") }
            #expect(verify.status == 0 && complaints.isEmpty, "systemd-analyze verify:\n\(verify.stdout)\(verify.stderr)")
        }

        // MARK: Docker

        @Test func theDockerfileBuildsInStagesAndCopiesWhatExists() throws {
            let dockerfile = try Self.text("deploy/Dockerfile")
            let lines = dockerfile.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
            let stages = lines.filter { $0.hasPrefix("FROM ") }
            #expect(stages.count == 2 && stages[0].hasPrefix("FROM swift:6") && stages[1] == "FROM debian:bookworm-slim", "\(stages)")
            #expect(dockerfile.contains("libssl3") && dockerfile.contains("libnghttp2-14"))
            #expect(lines.contains("USER canarygate") && lines.contains { $0.hasPrefix("EXPOSE ") })
            // Each COPY from the build context names something in the repository.
            for copy in lines.filter({ $0.hasPrefix("COPY ") && !$0.contains("--from=") }) {
                let source = copy.split(separator: " ")[1]
                #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(String(source)).path), "\(copy)")
            }
            // The health check calls the admin API of the config the image carries.
            let config = try ConfigLoader.parse(try Self.text("config/canarygate.yaml"))
            let health = try #require(lines.first { $0.hasPrefix("HEALTHCHECK ") })
            #expect(health.contains("http://\(config.admin.address)/healthz"), "\(health) vs admin \(config.admin.address)")
        }
    }
}
