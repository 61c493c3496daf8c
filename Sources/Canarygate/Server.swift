// Starts the event-loop threads and the admin listener; reloads the config into them; drains and stops them.
import Analysis
import Cluster
import Config
import Foundation
import EventLoop
import Glibc
import Logging
import Proxy
import Rollout
import Synchronization

public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// The running proxy: one `ProxyLoop` per thread, each with its own listeners (SO_REUSEPORT).
public final class Server: Sendable {
    public let state: ServerState
    private let controls: [LoopControl]
    private let threads: [LoopThread]
    private let admin: AdminServer
    private let logger: Logger
    /// Serialises reloads (SIGHUP and the admin API may ask at the same time).
    private let reloadLock = Mutex<Void>(())
    /// The rollouts: ticked by the control thread, commanded and read by the admin thread.
    private let rollouts: Mutex<RolloutController>
    /// Fleet mode's agent (nil alone): read without the rollouts' lock, since forwarding a verb waits on etcd.
    let agent: ClusterAgent?
    /// The last ten minutes of every route, sampled by the control thread each second.
    let timeline = Timeline()
    /// The access log's writer thread and the loops' rings (README "Access log").
    let accessLog: AccessLogWriter

    /// `configPath` is re-read on reload; nil for a config built in code (the demo).
    public static func start(config: CanarygateConfig, configPath: String?, threadCount: Int?, logger: Logger) throws -> Server {
        try RolloutController.checkStateDirectory(config)
        let weights = WeightRegistry()
        let snapshot: ProxySnapshot
        do {
            snapshot = try ProxySnapshot(
                config: config, generation: 1, weights: weights, primaryOverrides: RolloutController.persistedPrimaryOverrides(config))
        } catch {
            throw StartupError(description: "\(error)")
        }
        let count = max(1, threadCount ?? config.threads ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        // Before any loop sizes its connection budget from it.
        let descriptors = DescriptorLimit.raiseToHard()
        logger.info(
            """
            descriptor limit \(descriptors.after)\(descriptors.after != descriptors.before ? " (soft limit raised from \(descriptors.before))" : ""); \
            maxConnections \(ConnectionBudget.maxConnections(config, loops: count))\(config.limits.maxConnections == nil ? " (derived)" : "")
            """)
        let state = ServerState(snapshot: snapshot, configPath: configPath, loopCount: count, weights: weights)
        let accessLog = try AccessLogWriter.started(config.accessLog, loops: count, logger: logger)

        // Each loop is built on its own thread; this collects their controls or their startup errors.
        let started = Mutex<[Int: Result<LoopControl, StartupError>]>([:])
        var threads: [LoopThread] = []
        for i in 0..<count {
            threads.append(
                LoopThread.spawn {
                    var log = logger
                    log[metadataKey: "loop"] = "\(i)"
                    let loop: ProxyLoop
                    do {
                        loop = try ProxyLoop(
                            index: i, snapshot: snapshot, metrics: state.metrics, log: log, accessLogRing: accessLog.rings[i])
                    } catch {
                        started.withLock { $0[i] = .failure(StartupError(description: "loop \(i): \(error)")) }
                        return
                    }
                    started.withLock { $0[i] = .success(loop.control) }
                    loop.run()
                    loop.shutdown()
                })
        }
        // Startup is bounded: binding sockets takes microseconds, so 10 s means something is wrong.
        var results: [Int: Result<LoopControl, StartupError>] = [:]
        for _ in 0..<10_000 {
            results = started.withLock { $0 }
            if results.count == count { break }
            usleep(1000)
        }
        var controls: [LoopControl] = []
        var failure: StartupError?
        for i in 0..<count {
            switch results[i] {
            case .success(let c): controls.append(c)
            case .failure(let e): failure = failure ?? e
            case nil: failure = failure ?? StartupError(description: "loop \(i) did not start")
            }
        }
        do {
            if let failure { throw failure }
            for c in controls { c.send(.peers(controls)) }
            let admin = try AdminServer.bind(address: config.admin.address)
            let fleet = config.cluster.map { cluster in
                FleetLink(
                    agent: ClusterAgent(config: cluster, replica: cluster.replica ?? defaultReplicaName(config), logger: logger),
                    admin: config.admin.address.description, config: config)
            }
            let controller = RolloutController(state: state, logger: logger, fleet: fleet)
            controller.closeIdle = { endpoints in for c in controls { c.send(.closeIdle(endpoints)) } }
            controller.warm = { endpoints, perEndpoint in for c in controls { c.send(.warm(endpoints, perEndpoint: perEndpoint)) } }
            controller.start(now: MonotonicClock.nowNanoseconds())
            fleet?.agent.start()
            let server = Server(
                state: state, controls: controls, threads: threads, admin: admin, logger: logger, rollouts: controller, accessLog: accessLog
            )
            // The loops started with the state file's overrides; this only installs a change (none normally).
            server.installPrimaryOverrides()
            admin.start(server: server)
            return server
        } catch {
            for c in controls { c.handle.requestStop() }
            for t in threads { t.join() }
            accessLog.stop()
            throw error
        }
    }

    private init(
        state: ServerState, controls: [LoopControl], threads: [LoopThread], admin: AdminServer, logger: Logger,
        rollouts: consuming sending RolloutController, accessLog: AccessLogWriter
    ) {
        self.accessLog = accessLog
        agent = rollouts.fleet?.agent
        self.rollouts = Mutex(rollouts)
        self.state = state
        self.controls = controls
        self.threads = threads
        self.admin = admin
        self.logger = logger
    }

    /// Re-reads the config file, validates it off the loops and publishes it to every loop.
    /// An invalid file changes nothing: the error is logged, counted and shown in /status.
    @discardableResult
    public func reload() -> Result<Int, ReloadError> {
        reloadLock.withLock { _ in
            guard let path = state.configPath else {
                return .failure(state.reloadFailed(ReloadError(message: "this proxy was not started from a config file")))
            }
            let current = state.snapshot
            let next: ProxySnapshot
            do {
                let config = try ConfigLoader.load(path: path)
                try ReloadRules.check(old: state.startupConfig, new: config)
                try RolloutController.checkStateDirectory(config)
                try AccessLogWriter.checkWritable(config.accessLog)
                // Overrides the new config ends are dropped here and by the rollouts' `.configured` alike.
                let overrides = rollouts.withLock { $0.primaryOverrides(for: config) }
                next = try ProxySnapshot(
                    config: config, generation: current.generation + 1, weights: state.weights, primaryOverrides: overrides)
                try ReloadRules.checkNewListeners(current: current, next: next)
            } catch let error as ConfigError {
                logger.error("reload refused, keeping the running config:\n\(error.description)")
                return .failure(state.reloadFailed(ReloadError(message: error.description)))
            } catch {
                logger.error("reload refused, keeping the running config: \(error)")
                return .failure(state.reloadFailed(ReloadError(message: "\(error)")))
            }
            for c in controls { c.send(.install(next)) }
            accessLog.apply(next.config.accessLog)
            state.reloadSucceeded(next)
            rollouts.withLock { $0.configure(next, now: MonotonicClock.nowNanoseconds()) }
            logger.info("config reloaded (generation \(next.generation))")
            return .success(next.generation)
        }
    }

    /// One control tick of every rollout (the control thread calls it every 100 ms).
    public func tickRollouts() {
        let undone = rollouts.withLock {
            if $0.fleet != nil { $0.fleetTick(now: MonotonicClock.nowNanoseconds()) } else { $0.tick(now: MonotonicClock.nowNanoseconds()) }
            return $0.overridesChanged
        }
        if undone { installPrimaryOverrides() }
        timeline.sampleIfDue(state)
    }

    public enum CommandOutcome: Equatable {
        case applied
        /// The rollout cannot take the verb now: why.
        case refused(String)
        /// In a fleet, the leader could not be reached: why.
        case unavailable(String)
    }

    /// A manual verb on a route's rollout. An undo to other endpoints is served by every loop when this
    /// returns. In a fleet, a replica that does not lead forwards the verb to the leader through etcd and
    /// answers with the leader's answer.
    public func rolloutCommand(route: String, verb: ManualVerb) -> CommandOutcome {
        if let agent, rollouts.withLock({ !$0.decides }) { return forward(route: route, verb: verb, through: agent) }
        let (refusal, undone) = rollouts.withLock {
            ($0.command(route: route, verb: verb, now: MonotonicClock.nowNanoseconds()), $0.overridesChanged)
        }
        if undone { installPrimaryOverrides() }
        return refusal.map { .refused($0) } ?? .applied
    }

    private func forward(route: String, verb: ManualVerb, through agent: ClusterAgent) -> CommandOutcome {
        switch agent.forward(route: route, verb: verb.name) {
        case .failure(let failure): return .unavailable(failure.description)
        case .success(let bytes):
            guard let answer = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
                return .unavailable("the leader's answer cannot be read")
            }
            let leader = answer["leader"] as? String ?? "the leader"
            return (answer["refusal"] as? String).map { .refused("\($0) (answered by \(leader))") } ?? .applied
        }
    }

    /// Rebuilds the routes of the running config with the rollouts' primary overrides and hands them to every
    /// loop, when they changed. Under the reload lock, which is always taken before the rollouts' lock.
    func installPrimaryOverrides() {
        reloadLock.withLock { _ in
            let current = state.snapshot
            let overrides = rollouts.withLock {
                $0.overridesChanged = false
                return $0.primaryOverrides(for: current.config)
            }
            guard overrides != current.primaryOverrides else { return }
            do {
                let next = try ProxySnapshot(
                    config: current.config, generation: current.generation + 1, weights: state.weights, primaryOverrides: overrides)
                for c in controls { c.send(.install(next)) }
                state.installed(next)
                // An undo is a switch "at once": return when every loop serves it (microseconds; bounded at 1 s).
                var waited = 0
                while !allLoopsCurrent && waited < 1000 {
                    usleep(1000)
                    waited += 1
                }
                logger.info(
                    "primary overrides installed (generation \(next.generation)): \(overrides.keys.sorted().joined(separator: ", "))")
            } catch {
                logger.error("cannot install the primary overrides of \(overrides.keys.sorted().joined(separator: ", ")): \(error)")
            }
        }
    }

    /// The fleet as this replica knows it; nil without `cluster:`.
    var clusterStatus: ClusterStatus? {
        guard let agent else { return nil }
        let view = agent.viewWithNames
        let disagreements = rollouts.withLock { $0.fleet?.disagreements.map(\.sentence) ?? [] }
        return ClusterStatus(view: view, disagreements: disagreements, traffic: agent.traffic)
    }

    public var rolloutStatuses: [(route: String, state: RolloutState)] {
        rollouts.withLock { $0.statuses }
    }

    /// Each managed route's judges, with the rollout's evidence so far.
    var rolloutJudges: [(route: String, judges: RolloutJudges)] {
        rollouts.withLock { $0.judges }
    }

    public var rolloutResults: [String: (succeeded: Int, failed: Int)] {
        rollouts.withLock { $0.results }
    }

    var alertCounts: AlertSender.Counts { rollouts.withLock { $0.alerts }.snapshot }
    /// The admin page's live streams, for /metrics.
    var adminEventStreams: EventStreamCounters { admin.eventStreams }

    var rolloutEvents: [EventRecord] {
        rollouts.withLock { $0.eventLog }
    }

    /// Whether every loop serves new requests with the current snapshot.
    public var allLoopsCurrent: Bool {
        let g = state.snapshot.generation
        return controls.allSatisfy { $0.servedGeneration.load(ordering: .acquiring) == g }
    }

    public var openConnections: Int { openConnectionsPerLoop.reduce(0, +) }

    /// Client connections open on each loop, by loop index (how evenly `balance:` spread them).
    public var openConnectionsPerLoop: [Int] {
        controls.map { $0.openConnections.load(ordering: .relaxed) }
    }

    /// Bytes the loops' buffer pools own, in use and free (each pool frees what the last second left unused).
    public var bufferPoolBytes: Int {
        controls.reduce(0) { $0 + $1.handle.buffers.bytes.load(ordering: .relaxed) }
    }

    /// Connections a loop accepted and handed to a less busy one, all loops.
    public var connectionsHandedOver: Int {
        controls.reduce(0) { $0 + $1.handedOver.load(ordering: .relaxed) }
    }

    /// Body bytes moved with splice(2), all loops: (request bodies to upstreams, response bodies to clients).
    public var splicedBytes: (toUpstream: UInt64, toClient: UInt64) {
        controls.reduce((UInt64(0), UInt64(0))) {
            ($0.0 &+ $1.spliced.toUpstream.load(ordering: .relaxed), $0.1 &+ $1.spliced.toClient.load(ordering: .relaxed))
        }
    }

    /// Stops accepting and lets in-flight requests finish; returns when every client connection is closed
    /// or at `deadline` (monotonic ns), whichever is first. `interrupt` is polled to cut the wait short.
    public func drain(until deadline: UInt64, interrupt: () -> Bool) -> Bool {
        for c in controls { c.send(.drain) }
        while MonotonicClock.nowNanoseconds() < deadline {
            if openConnections == 0 { return true }
            if interrupt() { return false }
            usleep(10_000)
        }
        return openConnections == 0
    }

    /// In a fleet: writes the leader's last state, gives up the lease (another replica leads at once) and stops
    /// talking to etcd. The weights stay as they are for what remains of this process's life.
    public func leaveFleet() {
        agent?.stop()
    }

    /// Stops every loop (closing listeners and connections) and waits for the threads; then gives the alerts'
    /// workers a short flush, last, so the events of the drain and of the admin's last verbs are sent too.
    public func stop() {
        agent?.stop()
        admin.stop()
        for c in controls { c.handle.requestStop() }
        for t in threads { t.join() }
        // After the loops: the aborts of what they closed are queued too.
        accessLog.stop()
        rollouts.withLock { $0.alerts }.stop(flushingFor: AlertSender.shutdownFlush)
    }
}

public struct ReloadError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A replica's name when the config gives none: the host's name and the admin port, unique on one machine.
func defaultReplicaName(_ config: CanarygateConfig) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    let host = gethostname(&buffer, buffer.count) == 0 ? String(cString: buffer) : "replica"
    let allowed = host.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" ? $0 : "-" }
    return String(allowed.prefix(48)) + "-\(config.admin.address.port)"
}
