// Managed routes end to end: the rollout's YAML, a proxy that can be killed -9 and restarted on its state file,
// keep-alive load through it, /status read as a rollout, and a webhook receiver.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Configuration

/// One `analysis.webhooks` entry: an HTTP webhook (`url`) or an exec hook (`command`).
struct HookSpec: Sendable {
    var name: String
    var type: String
    var url: String?
    var command: [String]?
    var timeout = "2s"
    var retries = 0
    var metadata: [String: String] = [:]

    static func webhook(_ name: String, _ type: String, url: String, metadata: [String: String] = [:]) -> HookSpec {
        HookSpec(name: name, type: type, url: url, command: nil, metadata: metadata)
    }

    static func exec(_ name: String, _ type: String, _ command: [String]) -> HookSpec {
        HookSpec(name: name, type: type, url: nil, command: command)
    }
}

/// One managed catch-all route `web` (primary v1, canary v2 by default) with short analysis settings, and
/// optionally a state file. Written as YAML for the harness's listener and admin ports.
struct RolloutSpec: Sendable {
    var routeName = "web"
    var primary: ArmSpec
    var canary: ArmSpec
    var interval = "300ms"
    var threshold = 2
    var stepWeight = 25
    var maxWeight = 50
    /// `analysis.iterations` (A/B, blue/green); when set, stepWeight and maxWeight are not written.
    var iterations: Int?
    /// The canary's `match:` (an A/B cohort) as a YAML flow list; nil: not written.
    var cohort: String?
    var minRequests = 5
    var progressDeadline = "10s"
    /// `request-success-rate` `thresholdRange.min` (percent); nil: no such check.
    var successRateMin: Double? = 99
    /// `request-duration` `thresholdRange.max` (ms, p99); nil: no such check.
    var durationMax: Double? = 500
    /// `analysis.requireEvidence`. Off here: these rollouts take a few hundred requests per step in
    /// 300 ms intervals, and the evidence gate asks thousands at the default 0.5-point margin (it would
    /// hold every step until the deadline). The tests of the gate itself (JudgementEndToEndTests) turn it on.
    var requireEvidence = false
    /// Raw lines inside `analysis:` (e.g. `comparison: { enabled: false }`), indented by the writer.
    var extraAnalysis: [String] = []
    var hooks: [HookSpec] = []
    /// `state.path`; nil: no state file.
    var statePath: String?
    /// The `cluster:` section (fleet mode, see FleetHarness.swift); nil: a single proxy.
    var cluster: ClusterSpec?
    var timeouts: [String: String] = [:]
    /// The route's `retries` keys (empty: not written).
    var retries: [String: String] = [:]
    /// The route's `mirror:` as a YAML flow mapping; nil: not written.
    var mirror: String?
    /// The route's `sessionAffinity` as a YAML flow mapping; nil: not written.
    var sessionAffinity: String?
    /// The top-level `alerts:` list as YAML lines (`- { name: …, … }`); empty: not written.
    var alerts: [String] = []

    init(primary: TestUpstream, canary: TestUpstream) {
        self.primary = ArmSpec("v1", primary)
        self.canary = ArmSpec("v2", canary)
    }

    /// Arms given as specs (e.g. HTTP/2 upstreams with `protocol: h2`).
    init(primary: ArmSpec, canary: ArmSpec) {
        self.primary = primary
        self.canary = canary
    }

    /// For tests about hooks, verbs or restarts, not about the judges. Two identical TestUpstreams on a busy
    /// 2-core machine are not identical arms: the canary's pool opens new connections (a new upstream thread
    /// each) after every weight step, and the arm with less traffic answers a millisecond or two slower in
    /// its tail. The comparison judge's p99 ratio (1 ms floor) and the sequential judge's slow-request count
    /// (slow = over the primary's last p99) have each rolled back a healthy canary that way under load.
    /// A 10 ms floor and a fixed 250 ms slow threshold keep those tests about what they test; the
    /// healthy-canary test keeps the defaults.
    mutating func ignoreLoopbackLatencyJitter() {
        extraAnalysis.append("comparison: { minLatencyIncrease: 10ms }")
        extraAnalysis.append("sequential: { slowThreshold: 250ms }")
    }

    private var retriesLines: String {
        retries.isEmpty ? "" : "\n    retries:" + retries.keys.sorted().map { "\n      \($0): \(retries[$0]!)" }.joined()
    }

    func yaml(listenPort: UInt16, adminPort: UInt16) -> String {
        var out = """
            admin:
              address: 127.0.0.1:\(adminPort)
            listeners:
              - name: http
                address: 127.0.0.1:\(listenPort)

            """
        if let statePath { out += "state:\n  path: \(q(statePath))\n" }
        if !alerts.isEmpty { out += "alerts:\n" + alerts.map { "  \($0)\n" }.joined() }
        if let cluster { out += cluster.yaml }
        if !timeouts.isEmpty {
            out += "timeouts:\n"
            for key in timeouts.keys.sorted() { out += "  \(key): \(timeouts[key]!)\n" }
        }
        out += """
            routes:
              - name: \(q(routeName))
                primary:
                  revision: \(q(primary.revision))
                  endpoints: [\(primary.endpoints.map(q).joined(separator: ", "))]\(protocolLine(primary))
                canary:
                  revision: \(q(canary.revision))
                  endpoints: [\(canary.endpoints.map(q).joined(separator: ", "))]\(protocolLine(canary))\(cohortLine)\(retriesLines)\(mirror.map { "\n    mirror: \($0)" } ?? "")\(sessionAffinity.map { "\n    sessionAffinity: \($0)" } ?? "")
                analysis:
                  interval: \(interval)
                  threshold: \(threshold)
                  \(weightLines)
                  minRequests: \(minRequests)
                  progressDeadline: \(progressDeadline)
                  requireEvidence: \(requireEvidence)

            """
        var metrics: [String] = []
        if let min = successRateMin { metrics.append("- name: request-success-rate\n  thresholdRange: { min: \(min) }") }
        if let max = durationMax { metrics.append("- name: request-duration\n  thresholdRange: { max: \(max) }") }
        if !metrics.isEmpty {
            out += "      metrics:\n"
            for m in metrics { out += m.split(separator: "\n").map { "        " + $0 + "\n" }.joined() }
        }
        for line in extraAnalysis { out += "      \(line)\n" }
        if !hooks.isEmpty {
            out += "      webhooks:\n"
            for h in hooks {
                out += "        - name: \(q(h.name))\n"
                out += "          type: \(q(h.type))\n"
                if let url = h.url { out += "          url: \(q(url))\n" }
                if let command = h.command { out += "          command: [\(command.map(q).joined(separator: ", "))]\n" }
                out += "          timeout: \(h.timeout)\n"
                out += "          retries: \(h.retries)\n"
                if !h.metadata.isEmpty {
                    out += "          metadata:\n"
                    for key in h.metadata.keys.sorted() { out += "            \(q(key)): \(q(h.metadata[key]!))\n" }
                }
            }
        }
        return out
    }

    private var cohortLine: String { cohort.map { "\n      match: \($0)" } ?? "" }

    private var weightLines: String {
        iterations.map { "iterations: \($0)" } ?? "stepWeight: \(stepWeight)\n      maxWeight: \(maxWeight)"
    }

    private func protocolLine(_ arm: ArmSpec) -> String {
        arm.upstreamProtocol.map { "\n      protocol: \($0)" } ?? ""
    }

    private func q(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

// MARK: - The proxy, restartable

/// A canarygate process for rollout tests. Unlike `ProxyProcess` it can be killed with SIGKILL and started
/// again on the same config file, ports and state file. Use through `withRolloutProxy`.
final class RolloutProxy {
    let port: UInt16
    let adminPort: UInt16
    let dir: TempDir
    let configFile: URL
    let logFile: URL
    private(set) var child: ChildProcess
    /// How many times the process was started (1 after `init`).
    private(set) var starts = 1

    var isRunning: Bool { child.isRunning }
    var pid: pid_t { child.pid }

    init(_ spec: RolloutSpec, dir: TempDir, readyTimeout: Double = 5) throws {
        port = try Posix.freePort()
        var admin = try Posix.freePort()
        while admin == port { admin = try Posix.freePort() }
        adminPort = admin
        self.dir = dir
        configFile = try dir.write("canarygate.yaml", spec.yaml(listenPort: port, adminPort: adminPort))
        logFile = dir.url.appendingPathComponent("canarygate.log")
        child = try Self.spawn(configFile: configFile, logFile: logFile)
        do { try waitUntilReady(timeout: readyTimeout) } catch {
            child.terminate(grace: 1)
            throw error
        }
    }

    deinit { stop() }

    private static func spawn(configFile: URL, logFile: URL) throws -> ChildProcess {
        try ChildProcess(
            path: try CanarygateBinary.path(),
            arguments: ["run", "--config", configFile.path, "--threads", "1"], stdoutPath: logFile.path)
    }

    private func waitUntilReady(timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var pending = [port, adminPort]
        while !pending.isEmpty {
            if !child.isRunning { throw ProxyError.exitedEarly(status: child.terminationStatus ?? -1, log: log) }
            if Date() > deadline { throw ProxyError.notReady(log: log) }
            if let fd = try? Posix.connect(port: pending[0], timeout: 0.2) {
                close(fd)
                pending.removeFirst()
            } else {
                usleep(20_000)
            }
        }
    }

    /// SIGKILL, then reap: returns the exit status (137 when the signal killed it).
    @discardableResult
    func kill9() -> Int32? {
        if child.isRunning {
            kill(child.pid, SIGKILL)
            child.wait(timeout: 5)
        }
        return child.terminationStatus
    }

    /// Starts the binary again on the same config file, ports and state file (the old process must be gone).
    func restart(readyTimeout: Double = 5) throws {
        precondition(!child.isRunning, "restart while the previous process runs")
        let deadline = Date().addingTimeInterval(readyTimeout)
        while true {
            child = try Self.spawn(configFile: configFile, logFile: logFile)
            starts += 1
            do {
                try waitUntilReady(timeout: max(0.5, deadline.timeIntervalSinceNow))
                return
            } catch ProxyError.exitedEarly(_, let log) where Date() < deadline && log.localizedCaseInsensitiveContains("in use") {
                usleep(100_000)  // the killed process's sockets are still being torn down
            }
        }
    }

    /// Waits (at most 10 s) until the rollout holds its canary live at weight 0, kills the proxy with SIGKILL and
    /// restarts it on its state file; checks that the restored rollout still holds, and returns it and the one before.
    @discardableResult
    func restartWhileHeldLive(sourceLocation: SourceLocation = #_sourceLocation) throws -> (before: RolloutStatus, after: RolloutStatus) {
        let (before, met) = try waitForRollout(timeout: 10) { $0.phase == "Progressing" && $0.canaryLiveAtZero }
        #expect(met, "never held live: \(before)", sourceLocation: sourceLocation)
        kill9()
        try restart()
        // The admin API answers only once the controller has restored the rollouts (and the hold with them).
        let after = try rollout()
        #expect(
            after.phase == "Progressing" && after.routeWeight == 0 && after.canaryLiveAtZero, "\(after)", sourceLocation: sourceLocation)
        return (before, after)
    }

    /// SIGTERM, SIGKILL after 2 s; always reaps.
    func stop() { child.terminate(grace: 2) }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The log lines containing `text` (for reports on failed assertions).
    func logLines(containing text: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    // MARK: admin API

    func admin(_ path: String) throws -> ClientResponse {
        try RawClient.fetch(port: adminPort, HTTPText.request("GET", path, host: "127.0.0.1:\(adminPort)"))
    }

    func adminPost(_ path: String) throws -> ClientResponse {
        try RawClient.fetch(
            port: adminPort, HTTPText.request("POST", path, host: "127.0.0.1:\(adminPort)", body: []),
            method: "POST")
    }

    /// `POST /routes/ROUTE/VERB` (`promote?force=true` as the verb for a forced promotion).
    func verb(_ verb: String, route: String = "web") throws -> ClientResponse {
        try adminPost("/routes/\(route)/\(verb)")
    }

    func statusJSON() throws -> [String: Any] {
        let response = try admin("/status")
        guard response.status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        else {
            throw ProxyError.badStatus(response.status, response.text)
        }
        return json
    }

    /// The route's rollout as `/status` shows it.
    func rollout(route: String = "web") throws -> RolloutStatus {
        let json = try statusJSON()
        let routes = json["routes"] as? [[String: Any]] ?? []
        guard let r = routes.first(where: { $0["name"] as? String == route }) else {
            throw ProxyError.badStatus(200, "no route \(route) in /status: \(json)")
        }
        return RolloutStatus(route: r, events: json["events"] as? [String] ?? [])
    }

    /// Polls `/status` every 50 ms until `done` holds or `timeout` passes; every distinct (phase, weight)
    /// seen goes to `history`. Returns the last status seen and whether `done` held.
    @discardableResult
    func waitForRollout(
        timeout: Double, history: RolloutHistory? = nil, route: String = "web",
        _ done: (RolloutStatus) -> Bool
    ) throws -> (status: RolloutStatus, met: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let s = try rollout(route: route)
            history?.note(s)
            if done(s) { return (s, true) }
            if Date() > deadline { return (s, false) }
            usleep(50_000)
        }
    }

    /// `POST /reload` after rewriting the config file; the response.
    func reload(_ spec: RolloutSpec) throws -> ClientResponse {
        try spec.yaml(listenPort: port, adminPort: adminPort).write(to: configFile, atomically: true, encoding: .utf8)
        return try adminPost("/reload")
    }

    func metrics() throws -> PromText {
        let response = try admin("/metrics")
        guard response.status == 200 else { throw ProxyError.badStatus(response.status, response.text) }
        return try PromText(response.text)
    }
}

/// Runs `body` with a started `RolloutProxy`; stops it (and reaps it) whatever happens. On a thrown error or a
/// recorded issue the log's tail is printed and the temp dir kept; `CANARYGATE_KEEP_LOGS=1` keeps every one.
func withRolloutProxy<T>(_ spec: RolloutSpec, dir: TempDir? = nil, _ body: (RolloutProxy) throws -> T) throws -> T {
    let dir = try dir ?? TempDir.make()
    var keep = ProcessInfo.processInfo.environment["CANARYGATE_KEEP_LOGS"] == "1"
    let proxy: RolloutProxy
    do { proxy = try RolloutProxy(spec, dir: dir) } catch {
        print("canarygate did not start: \(error)")
        throw error
    }
    defer {
        proxy.stop()
        if !keep { dir.remove() }
    }
    do {
        let result = try body(proxy)
        if !proxy.isRunning {
            keep = true
            Issue.record(
                "canarygate exited during the test (status \(proxy.child.terminationStatus.map(String.init) ?? "?")); log tail:\n\(String(proxy.log.suffix(4096)))"
            )
        }
        return result
    } catch {
        keep = true
        print("canarygate log (\(proxy.logFile.path)), last 6 KiB:\n\(String(proxy.log.suffix(6144)))")
        throw error
    }
}

// MARK: - /status as a rollout

struct VerdictStatus: CustomStringConvertible {
    var judge: String
    var outcome: String
    var summary: String
    var evidence: [String: Double]
    var description: String { "\(judge)=\(outcome) (\(summary))" }
}

/// `routes[i]` of `/status` with its `rollout`, plus the top-level `events`.
struct RolloutStatus: CustomStringConvertible {
    /// The live weight of the route (`routes[i].canaryWeight`).
    var routeWeight: Int
    var phase: String
    /// The rollout's weight (`rollout.canaryWeight`).
    var weight: Int
    var failedChecks: Int
    /// `rollout.iterations.done` and `.of` (nil: canary steps).
    var iterations: Int
    var iterationsOf: Int?
    /// `rollout.canaryLiveAtZero`.
    var canaryLiveAtZero: Bool
    /// `rollout.stepDown` while a rollback steps the weight down: why, and the weight reached.
    var stepDown: (reason: String, weight: Int)?
    var paused: Bool
    var canaryRevision: String?
    var primaryRevision: String?
    var lastAnalysedRevision: String?
    var message: String
    var verdicts: [VerdictStatus]
    var events: [String]
    var hasRollout: Bool

    init(route: [String: Any], events: [String]) {
        routeWeight = (route["canaryWeight"] as? NSNumber)?.intValue ?? -1
        let r = route["rollout"] as? [String: Any]
        hasRollout = r != nil
        phase = r?["phase"] as? String ?? "none"
        weight = (r?["canaryWeight"] as? NSNumber)?.intValue ?? -1
        failedChecks = (r?["failedChecks"] as? NSNumber)?.intValue ?? -1
        let iterationsObject = r?["iterations"] as? [String: Any]
        iterations = (iterationsObject?["done"] as? NSNumber)?.intValue ?? -1
        iterationsOf = (iterationsObject?["of"] as? NSNumber)?.intValue
        canaryLiveAtZero = (r?["canaryLiveAtZero"] as? NSNumber)?.boolValue ?? false
        stepDown = (r?["stepDown"] as? [String: Any]).map {
            ($0["reason"] as? String ?? "", ($0["weight"] as? NSNumber)?.intValue ?? -1)
        }
        paused = (r?["paused"] as? NSNumber)?.boolValue ?? false
        canaryRevision = r?["canaryRevision"] as? String
        primaryRevision = r?["primaryRevision"] as? String
        lastAnalysedRevision = r?["lastAnalysedRevision"] as? String
        message = r?["message"] as? String ?? ""
        verdicts = (r?["lastVerdicts"] as? [[String: Any]] ?? []).map { v in
            var evidence: [String: Double] = [:]
            for (key, value) in v["evidence"] as? [String: Any] ?? [:] {
                if let n = value as? NSNumber { evidence[key] = n.doubleValue }
            }
            return VerdictStatus(
                judge: v["judge"] as? String ?? "", outcome: v["outcome"] as? String ?? "",
                summary: v["summary"] as? String ?? "", evidence: evidence)
        }
        self.events = events
    }

    var failedVerdicts: [VerdictStatus] { verdicts.filter { $0.outcome == "fail" } }

    var description: String {
        "\(phase) weight=\(weight) (route \(routeWeight)) failedChecks=\(failedChecks) iterations=\(iterations)/\(iterationsOf.map(String.init) ?? "-")"
            + " live=\(canaryLiveAtZero) stepDown=\(stepDown.map { "\($0.weight)% \($0.reason)" } ?? "nil") paused=\(paused)"
            + " canary=\(canaryRevision ?? "nil") primary=\(primaryRevision ?? "nil") analysed=\(lastAnalysedRevision ?? "nil")"
            + " message=\(message.debugDescription) verdicts=\(verdicts)"
    }
}

/// The distinct (phase, weight) steps a rollout went through, in order, with when each was first seen.
final class RolloutHistory: @unchecked Sendable {
    struct Step: Equatable, CustomStringConvertible {
        var phase: String
        var weight: Int
        var description: String { "\(phase)@\(weight)" }
    }

    private let lock = NSLock()
    private var entries: [(step: Step, at: Date)] = []

    func note(_ s: RolloutStatus) {
        let step = Step(phase: s.phase, weight: s.weight)
        lock.withLock {
            if entries.last?.step != step { entries.append((step, Date())) }
        }
    }

    var steps: [Step] { lock.withLock { entries.map(\.step) } }

    /// When `step` was first seen.
    func firstSeen(_ matches: (Step) -> Bool) -> Date? { lock.withLock { entries.first { matches($0.step) }?.at } }

    /// Whether `expected` appears in order (not necessarily adjacent) among the steps.
    func contains(inOrder expected: [Step]) -> Bool {
        var rest = expected[...]
        for step in steps where step == rest.first { rest = rest.dropFirst() }
        return rest.isEmpty
    }

    var description: String { steps.map(\.description).joined(separator: " → ") }
}

// MARK: - Load

/// Keep-alive clients sending `GET /` through the proxy until stopped (or `maxSeconds`), counting answers by
/// the arm's body and by status. Errors reconnect; nothing blocks longer than a client timeout.
final class TrafficLoad: @unchecked Sendable {
    private let lock = NSLock()
    private var byBody: [String: Int] = [:]
    private var byStatus: [Int: Int] = [:]
    private var errors: [String] = []
    private let stopFlag = Locked(false)
    private let group = DispatchGroup()

    /// Starts `clients` threads against 127.0.0.1:`port`, each pausing `pause` seconds between requests.
    init(port: UInt16, clients: Int = 3, pause: Double = 0.002, maxSeconds: Double = 25) {
        let hardDeadline = Date().addingTimeInterval(maxSeconds)
        for worker in 0..<clients {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                var client: RawClient?
                var i = 0
                while !stopFlag.value && Date() < hardDeadline {
                    i += 1
                    do {
                        if client == nil { client = try RawClient(port: port, timeout: 3) }
                        let response = try client!.get("/load/\(worker)/\(i)")
                        lock.withLock {
                            byStatus[response.status, default: 0] += 1
                            byBody[response.status == 200 ? response.text : "status \(response.status)", default: 0] += 1
                        }
                        if response.announcesClose { client?.close(); client = nil }
                    } catch {
                        lock.withLock { if errors.count < 100 { errors.append("worker \(worker) #\(i): \(error)") } }
                        client?.close()
                        client = nil
                        usleep(20_000)
                    }
                    if pause > 0 { usleep(UInt32(pause * 1_000_000)) }
                }
                client?.close()
            }
            thread.name = "rollout-load-\(worker)"
            thread.start()
        }
    }

    /// Stops every client and waits (bounded) for them.
    @discardableResult
    func stop() -> Bool {
        stopFlag.value = true
        return group.wait(timeout: .now() + 10) == .success
    }

    deinit { stop() }

    func count(body: String) -> Int { lock.withLock { byBody[body, default: 0] } }
    func count(status: Int) -> Int { lock.withLock { byStatus[status, default: 0] } }
    var total: Int { lock.withLock { byStatus.values.reduce(0, +) } }
    var errorSamples: [String] { lock.withLock { errors } }
    var statusCounts: [Int: Int] { lock.withLock { byStatus } }
}

/// Runs `body` with load running; the load is stopped (and its threads joined) whatever happens.
func withLoad<T>(
    _ port: UInt16, clients: Int = 3, pause: Double = 0.002, maxSeconds: Double = 25,
    _ body: (TrafficLoad) throws -> T
) rethrows -> T {
    let load = TrafficLoad(port: port, clients: clients, pause: pause, maxSeconds: maxSeconds)
    defer { load.stop() }
    return try body(load)
}

// MARK: - Upstreams for rollouts

extension TestUpstream {
    /// Answers `text` (200), but 500 on `failPercent` of requests, spread evenly (request k fails when
    /// `k × failPercent / 100` crosses an integer), and after `delay` seconds each.
    static func arm(_ name: String, text: String, failPercent: Int = 0, delay: Double = 0) throws -> TestUpstream {
        let counter = Guarded(0)
        return try TestUpstream(name: name) { _ in
            let k = counter.withValue {
                $0 += 1; return $0
            }
            let fails = failPercent > 0 && (k * failPercent / 100) != ((k - 1) * failPercent / 100)
            var response = UpstreamResponse.text(fails ? "\(text) failed" : text, status: fails ? 500 : 200)
            response.delay = delay
            return .respond(response)
        }
    }
}

/// A value shared between threads, read and changed under one lock.
final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func withValue<R>(_ change: (inout Value) -> R) -> R { lock.withLock { change(&stored) } }
}

// MARK: - Webhooks

/// One webhook call as the receiver got it: the path and the JSON payload.
struct HookCall: CustomStringConvertible {
    var path: String
    var json: [String: Any]

    var type: String { json["type"] as? String ?? "?" }
    var name: String { json["name"] as? String ?? "?" }
    var phase: String { json["phase"] as? String ?? "?" }
    var revision: String { json["revision"] as? String ?? "?" }
    var route: String { json["route"] as? String ?? "?" }
    var weight: Int { (json["weight"] as? NSNumber)?.intValue ?? -1 }
    var metadata: [String: String] { json["metadata"] as? [String: String] ?? [:] }

    var description: String { "\(path) type=\(type) name=\(name) phase=\(phase) revision=\(revision) weight=\(weight)" }
}

/// An HTTP server for webhooks: records each POSTed JSON payload and answers each path with the status
/// `statuses[path]` (200 unless set; changeable while the test runs).
final class WebhookReceiver: @unchecked Sendable {
    let server: TestUpstream
    private let statuses = Guarded<[String: Int]>([:])

    init() throws {
        let statuses = self.statuses
        server = try TestUpstream(name: "webhooks") { request in
            .text("ok", status: statuses.value[request.path] ?? 200)
        }
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(server.port)\(path)" }

    func answer(_ path: String, with status: Int) { statuses.withValue { $0[path] = status } }

    /// Every call so far (the request bodies are read from the server's record, complete ones only).
    var received: [HookCall] {
        server.requests.filter(\.complete).compactMap { request in
            guard let json = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
                return HookCall(path: request.path, json: ["unparsed": request.bodyText])
            }
            return HookCall(path: request.path, json: json)
        }
    }

    func calls(type: String) -> [HookCall] { received.filter { $0.type == type } }

    func stop() { server.stop() }
}
