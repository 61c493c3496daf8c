// Runs every managed route's rollout on the control thread: feeds its state machine, carries out its actions.
import Analysis
import Cluster
import Config
import EventLoop
import Foundation
import Logging
import Proxy
import Rollout
import Synchronization
import Telemetry

/// Owned by the control thread (ticks) and reached by the admin thread (verbs, status) through `Server`,
/// always under `Server`'s controller lock. Hook and probe results arrive from their threads via `inbox`.
final class RolloutController {
    var rollouts: [String: ManagedRollout] = [:]
    let state: ServerState
    private let hooks = HookRunner()
    /// nil without a state file, or when an unreadable one could not be moved aside (saving would overwrite it).
    private(set) var store: StateStore?
    private let logger: Logger
    /// Results of hooks and probes, posted from their own threads, delivered on the next tick.
    let inbox = RolloutInbox()
    /// Recent transitions, newest last, for /status and the timeline.
    private(set) var eventLog: [EventRecord] = []
    private var eventsRecorded = 0
    /// Evidence read from the state file, until its route's rollout takes it.
    var restoredEvidence: [String: RolloutJudges.Evidence] = [:]
    /// Watch baselines read from the state file, until their route's rollout takes them.
    var restoredBaselines: [String: WatchBaseline] = [:]
    /// Finished rollouts per route (since the process started).
    private(set) var results: [String: (succeeded: Int, failed: Int)] = [:]
    /// Fleet mode (`cluster:`): the agent and what this replica knows of the fleet; nil runs alone.
    let fleet: FleetLink?
    /// The leader's: the fleet's merged counts as of this tick (nil: this process's own).
    var fleetEvidence: MetricsSnapshot?
    /// Sends the events to the config's `alerts:` on threads of its own (RolloutController+Alerts.swift).
    let alerts: AlertSender

    /// The counts the rollouts are judged on: the fleet's when this replica leads one, else its own.
    func measured() -> MetricsSnapshot { fleetEvidence ?? state.metrics.snapshot() }

    /// Whether this process's machines run: always alone; in a fleet only while it leads.
    var decides: Bool { fleet == nil || fleet?.ledTerm != nil }

    init(state: ServerState, logger: Logger, fleet: FleetLink? = nil) {
        self.state = state
        self.logger = logger
        self.fleet = fleet
        alerts = AlertSender { [logger] in logger.warning("\($0)") }
        // A fleet's state lives in etcd: the file would be a second truth that a restart could resurrect.
        store = fleet == nil ? state.snapshot.config.state.map { StateStore(path: $0.path) } : nil
    }

    /// Refuses a state file in a directory other users could write to: at start, and at every reload, so a
    /// directory opened up since is noticed before the next save refuses it.
    static func checkStateDirectory(_ config: CanarygateConfig) throws(StateDirectoryError) {
        if let state = config.state { try StateStore(path: state.path).checkDirectory() }
    }

    /// Loads persisted rollouts (a restarted proxy resumes at the same phase and weight) and applies the config.
    ///
    /// A state file that cannot be read or decoded does not mean "start afresh": it may have said that the
    /// configured canary was rolled back, and starting afresh would probe it, run its pre-rollout hooks and
    /// send it traffic again. Every managed route is held instead (weight 0, phase Held, the reason in its
    /// message) for an operator, and the file is moved aside for inspection rather than overwritten.
    func start(now: UInt64) {
        var restored: [String: RolloutState] = [:]
        var lost: String?
        if let store {
            do {
                if let bytes = try store.load() {
                    restored = restoring(try JSONDecoder().decode(PersistedRollouts.self, from: Data(bytes)), now: now)
                    logger.info("restored rollout state of \(restored.count) route(s) from \(store.path)")
                }
            } catch {
                lost = setAsideUnreadableState(store, error)
            }
        }
        configure(state.snapshot, restored: restored, held: lost, now: now)
    }

    /// The states of `document` to resume at `now` (its evidence and baselines wait for their routes' rollouts).
    func restoring(_ document: PersistedRollouts, now: UInt64) -> [String: RolloutState] {
        restoredEvidence = document.evidence ?? [:]
        restoredBaselines = document.watchBaselines ?? [:]
        var restored: [String: RolloutState] = [:]
        for var s in document.routes {
            // A fresh analysis window: timers restart from now.
            s.phaseEnteredAt = now
            s.lastProgressAt = now
            s.afterPromotion = document.rebase(s.afterPromotion, now: now)
            restored[s.route] = s
        }
        return restored
    }

    /// Moves the unreadable file aside; the reason every route is held, naming where the file now is.
    private func setAsideUnreadableState(_ store: StateStore, _ error: any Error) -> String {
        let reason = "the state file \(store.path) could not be read (\(error))"
        do {
            let aside = try store.setAside(unixTime: Int(Date().timeIntervalSince1970))
            logger.error("\(reason); kept as \(aside); every managed route is held at weight 0 for an operator")
            return "\(reason); kept as \(aside)"
        } catch let asideError {
            // Saving would overwrite the only copy: run without persistence until an operator has looked.
            self.store = nil
            logger.error("\(reason), and it cannot be moved aside (\(asideError)); rollout state is not saved until a restart")
            return "\(reason); not saving rollout state until a restart, so as not to overwrite it"
        }
    }

    /// Applies a (re)loaded config: new managed routes get a machine; each learns the revisions it now has.
    /// `held`: why the routes created now start held (their persisted state was lost).
    func configure(_ snapshot: ProxySnapshot, restored: [String: RolloutState] = [:], held: String? = nil, now: UInt64) {
        fleet?.fingerprint = ConfigFingerprint(snapshot.config)
        // A follower's reload may change a canary's revision: the fleet's state is applied again to the new routes.
        if let fleet, !decides { fleet.appliedRevision = nil }
        var seen = Set<String>()
        for (route, compiled) in zip(snapshot.config.routes, snapshot.routes.byIndex) {
            guard let analysis = route.analysis, let canary = route.canary else { continue }
            seen.insert(route.name)
            if rollouts[route.name] == nil {
                let initial =
                    restored[route.name]
                    ?? held.map { RolloutState.held(route: route.name, reason: $0, rolloutNumber: Int(Date().timeIntervalSince1970)) }
                let machine = RolloutMachine(route: route.name, restored: initial)
                rollouts[route.name] = ManagedRollout(
                    machine: machine, weight: compiled.weight, slowThreshold: compiled.slowThreshold,
                    analysis: analysis, evidence: restoredEvidence.removeValue(forKey: route.name),
                    watchBaseline: restoredBaselines.removeValue(forKey: route.name)?.window)
                // At once, not on the first tick: the config's static weight must not reach a held canary meanwhile.
                if let r = initial {
                    compiled.weight.set(r.canaryWeight)
                    compiled.weight.setLiveAtZero(r.isCanaryLiveAtZero)
                } else if fleet != nil {
                    // A replica joining a fleet sends nothing to the canary until the fleet's state says how much.
                    compiled.weight.set(0)
                    compiled.weight.setLiveAtZero(false)
                }
            }
            rollouts[route.name]!.analysis = analysis
            rollouts[route.name]!.route = route
            deliver(
                route.name,
                .configured(
                    primaryRevision: route.primary.revision, canaryRevision: canary.arm.revision, analysis: analysis,
                    primaryEndpoints: route.primary.endpoints),
                now: now)
        }
        for name in rollouts.keys where !seen.contains(name) {
            // No longer managed: its weight cell must not bring an old canary share back later.
            rollouts[name]?.weight.set(0)
            rollouts[name]?.weight.setLiveAtZero(false)
            rollouts[name]?.slowThreshold.set(seconds: nil)
            rollouts[name] = nil
        }
    }

    /// One control tick (every 100 ms): sequential judges on the tick's counts, async results, timers. In fleet
    /// mode the leader's tick, on the fleet's merged counts; `holding`: routes not to advance (their replicas
    /// disagree on revisions), whose machines see no tick, so no timer moves them, while a failure still rolls back.
    func tick(now: UInt64, holding: Set<String> = []) {
        let metrics = measured()
        for (route, line) in inbox.takeHookOutputs() { record("\(route): \(line)") }
        // A held route's answers (hooks, gates, probes) wait with it: one could step it up or promote it.
        for (route, event) in inbox.takeAll(except: holding) { deliver(route, event, now: now) }
        for name in Array(rollouts.keys) {
            guard var r = rollouts[name] else { continue }
            let current = metrics.route(named: name) ?? RouteSnapshot(name: name)
            let failure = r.observeTick(current, now: now)
            let advance =
                failure == nil && r.evidenceAllowsAdvance(now: now, canaryClients: AffinityMetrics.canaryClients(r, metrics: state.metrics))
            rollouts[name] = r
            if let failure { deliver(name, .immediateFailure(failure), now: now) }
            if holding.contains(name) { continue }
            if advance { deliver(name, .evidenceSufficient, now: now) }
            deliver(name, .tick(now: now), now: now)
            // After the tick's transitions: the weight and T (a new interval's) the next tick judges by.
            rollouts[name]?.publishSlowThreshold()
        }
    }

    /// A manual verb from the admin API; returns why it cannot apply, or nil when it was applied.
    func command(route: String, verb: ManualVerb, now: UInt64) -> String? {
        guard let r = rollouts[route] else { return "route \(route) has no rollout (no analysis section)" }
        if let reason = r.machine.canApply(verb) { return reason }
        deliver(route, .command(verb), now: now)
        return nil
    }

    var statuses: [(route: String, state: RolloutState)] {
        rollouts.keys.sorted().map { ($0, rollouts[$0]!.machine.state) }
    }

    /// Each managed route's live judges (the evidence as of the last tick), for /status and /metrics.
    var judges: [(route: String, judges: RolloutJudges)] {
        rollouts.keys.sorted().map { ($0, rollouts[$0]!.judges) }
    }

    // MARK: carrying out actions

    /// Feeds `event` to the route's machine and carries out the actions, including the events that
    /// actions answer at once (a hook type with no hooks, an interval analysis).
    func deliver(_ route: String, _ event: RolloutEvent, now: UInt64) {
        // A fleet's follower mirrors the leader's machines and never runs its own.
        guard decides else { return }
        var queue: [RolloutEvent] = [event]
        while !queue.isEmpty {
            let next = queue.removeFirst()
            guard var r = rollouts[route] else { return }
            let before = r.machine.state.phase
            let actions = r.machine.handle(next, now: now)
            rollouts[route] = r
            let after = r.machine.state.phase
            if after != before && after == .initializing {
                r.beginRollout()
                rollouts[route] = r
            }
            if after != before && after == .succeeded { results[route, default: (0, 0)].succeeded += 1 }
            if after != before && after == .failed { results[route, default: (0, 0)].failed += 1 }
            for action in actions {
                if let answer = perform(action, route: route, now: now) { queue.append(answer) }
            }
        }
    }

    private func perform(_ action: RolloutAction, route: String, now: UInt64) -> RolloutEvent? {
        guard var r = rollouts[route] else { return nil }
        defer { rollouts[route] = r }
        switch action {
        case .setWeight(let w):
            // A step up: the canary's pool is opened to the share of the route's concurrency it is about to
            // carry (at least one connection per loop) while the new weight takes effect.
            if w > r.weight.weight, w < 100, let canary = r.route?.canary {
                let route = state.metrics.snapshot().route(named: route)
                let inFlight = Double(max(0, (route?.canary.inFlight ?? 0) + (route?.primary.inFlight ?? 0)))
                let perLoop = Int((inFlight * Double(w) / 100 / Double(max(1, state.loopCount))).rounded(.up))
                warm(canary.arm.endpoints, max(1, perLoop + 1))
            }
            r.weight.set(w)
            return nil
        case .setCanaryLive(let live):
            r.weight.setLiveAtZero(live)
            return nil
        case .runHooks(let type):
            // An undo's rollback hooks are told which revision to redeploy.
            let undo = r.machine.state.lastUndo.flatMap { type == .rollback && $0.hookResult == "running" ? $0 : nil }
            let requests = r.analysis.webhooks.filter { $0.type == type }.map {
                HookRequest(
                    route: route, hook: $0, phase: r.machine.state.phase.rawValue,
                    revision: r.machine.state.canaryRevision ?? "", weight: r.machine.state.canaryWeight, environment: [:],
                    previousRevision: undo?.restored, idempotencyKey: r.machine.state.idempotencyKey(for: $0))
            }
            if requests.isEmpty { return .hooksCompleted(type, passed: true, detail: "no \(type.rawValue) hooks") }
            hooks.start(requests) { [inbox] results in
                let passed = results.allSatisfy(\.passed)
                // The detail becomes the rollout's message, which the state file keeps: a hook's output
                // (whatever a script prints, credentials included) goes to the event log only.
                let detail = results.map { "\($0.name): \($0.passed ? "passed" : $0.detail)" }.joined(separator: "; ")
                inbox.postHookOutputs(route, results)
                inbox.post(route, .hooksCompleted(type, passed: passed, detail: detail))
            }
            return nil
        case .probeCanaryReadiness:
            guard let canary = r.route?.canary else { return .canaryReady(false) }
            ReadinessProbe.start(endpoints: canary.arm.endpoints, config: r.analysis.readiness) { [inbox] answers in
                inbox.post(route, .canaryReady(answers.allSatisfy { $0 != .notReady }))
            }
            return nil
        case .startAnalysisWindow:
            r.startWindow(measured().route(named: route) ?? RouteSnapshot(name: route))
            return nil
        case .analyseInterval:
            let current = measured().route(named: route) ?? RouteSnapshot(name: route)
            // The machine stores the verdicts (their figures change every interval) and asks for a persist,
            // which writes the judges' evidence of this interval with it.
            return r.analyseInterval(current, canaryClients: AffinityMetrics.canaryClients(r, metrics: state.metrics))
        case .probePrimary(let expected):
            // After the promote hook deployed the new revision as the primary: wait until the primary's
            // endpoints pass the readiness probe and, with `readiness.revisionHeader`, all report `expected`
            // (the machine asks again every readiness interval, up to progressDeadline).
            guard let primary = r.route?.primary else { return nil }
            let readiness = r.analysis.readiness
            ReadinessProbe.start(endpoints: primary.endpoints, config: readiness) { [inbox] answers in
                guard answers.allSatisfy({ $0 != .notReady }) else { return }
                guard readiness.revisionHeader != nil else {
                    inbox.post(route, .primaryReady(revision: nil))
                    return
                }
                // One endpoint still on another revision (mid-deploy) is the primary's answer: not yet.
                let reported = answers.compactMap { answer -> String? in
                    if case .ready(let revision) = answer { return revision } else { return nil }
                }
                inbox.post(route, .primaryReady(revision: reported.first { $0 != expected } ?? expected))
            }
            return nil
        case .drainCanary:
            // Weight 0 already sends nothing new to the canary; close its idle pooled connections now.
            if let canary = r.route?.canary { closeIdle(canary.arm.endpoints) }
            return nil
        case .overridePrimary:
            // The server rebuilds the routes with the machines' overrides once the controller's lock is released.
            overridesChanged = true
            return nil
        case .startWatchWindow:
            r.startWatch(measured().route(named: route) ?? RouteSnapshot(name: route))
            return nil
        case .analyseWatchInterval(let index):
            let current = measured().route(named: route) ?? RouteSnapshot(name: route)
            return .watchVerdicts(r.analyseWatch(current, index: index))
        case .persist:
            persistAll()
            return nil
        case .emit(let entry):
            record("\(route): \(entry.phase.rawValue) weight=\(entry.weight) \(entry.message)", route: route, severity: entry.severity)
            notify(route, entry, revision: r.machine.state.canaryRevision)
            let eventHooks = r.analysis.webhooks.filter { $0.type == .event }.map {
                HookRequest(
                    route: route, hook: $0, phase: entry.phase.rawValue, revision: r.machine.state.canaryRevision ?? "",
                    weight: entry.weight, environment: ["CANARYGATE_MESSAGE": entry.message],
                    idempotencyKey: r.machine.state.idempotencyKey(forEvent: $0, entry))
            }
            if !eventHooks.isEmpty { hooks.start(eventHooks) { [inbox] in inbox.postHookOutputs(route, $0) } }
            return nil
        }
    }

    /// An undo changed a route's primary override since the server last rebuilt the routes (which clears it).
    var overridesChanged = false

    /// The primary overrides of `config`'s managed routes that hold against it (`PrimaryOverride.holds`), as
    /// arms to compile in place of their primaries (the configured primary's protocol and TLS settings kept).
    func primaryOverrides(for config: CanarygateConfig) -> [String: ArmConfig] {
        Self.overrideArms(config) { rollouts[$0]?.machine.state.primaryOverride }
    }

    /// The primary overrides the state file holds for `config`, read before the loops start so that they never
    /// serve an undone primary; none without a readable state file (`start` then deals with it).
    static func persistedPrimaryOverrides(_ config: CanarygateConfig) -> [String: ArmConfig] {
        // A fleet's state lives in etcd: the leader's overrides reach a replica with the first state it reads.
        guard config.cluster == nil, let path = config.state?.path, let bytes = try? StateStore(path: path).load(),
            let document = try? JSONDecoder().decode(PersistedRollouts.self, from: Data(bytes))
        else { return [:] }
        return overrideArms(config) { route in document.routes.first { $0.route == route }?.primaryOverride }
    }

    private static func overrideArms(_ config: CanarygateConfig, _ override: (String) -> PrimaryOverride?) -> [String: ArmConfig] {
        var arms: [String: ArmConfig] = [:]
        for route in config.routes where route.analysis != nil && route.canary != nil {
            guard let override = override(route.name),
                override.holds(against: ArmRecord(revision: route.primary.revision, endpoints: route.primary.endpoints))
            else { continue }
            arms[route.name] = ArmConfig(
                revision: override.arm.revision, endpoints: override.arm.hostPorts, tls: route.primary.tls, protocol: route.primary.protocol
            )
        }
        return arms
    }

    /// The baselines of the watches still running (a restart resumes them).
    private func watchBaselines(_ names: [String]) -> [String: WatchBaseline] {
        var baselines: [String: WatchBaseline] = [:]
        for name in names where rollouts[name]!.machine.state.afterPromotion?.watchEndsAt != nil {
            baselines[name] = rollouts[name]!.watchBaseline.map(WatchBaseline.init)
        }
        return baselines
    }

    /// A line for the log and the event log (the last 100, for /status and the timeline).
    func record(_ line: String, route: String? = nil, severity: EventSeverity = .info) {
        switch severity {
        case .info: logger.info("rollout \(line)")
        case .warn: logger.warning("rollout \(line)")
        case .error: logger.error("rollout \(line)")
        }
        eventsRecorded += 1
        eventLog.append(
            EventRecord(sequence: eventsRecorded, unixTime: Date().timeIntervalSince1970, route: route, severity: severity, line: line))
        if eventLog.count > 100 { eventLog.removeFirst(eventLog.count - 100) }
    }

    /// Asks every loop to close its idle connections to `endpoints`.
    var closeIdle: ([HostPort]) -> Void = { _ in }
    /// Asks every loop to open connections to `endpoints` until each has this many idle.
    var warm: ([HostPort], Int) -> Void = { _, _ in }

    /// Every managed route's rollout: what the state file holds, and in a fleet the state key's value.
    func persistedDocument() -> PersistedRollouts {
        let names = rollouts.keys.sorted()
        return PersistedRollouts(
            routes: names.map { rollouts[$0]!.machine.state },
            evidence: Dictionary(uniqueKeysWithValues: names.map { ($0, rollouts[$0]!.judges.evidence) }),
            watchBaselines: watchBaselines(names),
            savedAt: .init(monotonic: MonotonicClock.nowNanoseconds(), unixTime: Date().timeIntervalSince1970),
            leader: fleet?.agent.replica, term: fleet?.ledTerm)
    }

    private func persistAll() {
        if let fleet, let term = fleet.ledTerm {
            do { fleet.agent.writeState([UInt8](try JSONEncoder().encode(persistedDocument())), term: term) } catch {
                logger.error("cannot encode the fleet's rollout state: \(error)")
            }
            return
        }
        guard let store else { return }
        do {
            let data = try JSONEncoder().encode(persistedDocument())
            try store.save([UInt8](data))
        } catch {
            logger.error("cannot persist rollout state: \(error)")
        }
    }
}

/// Where other threads (hooks, probes) leave rollout events for the control thread.
final class RolloutInbox: Sendable {
    private let queue = Mutex<[(route: String, event: RolloutEvent)]>([])

    func post(_ route: String, _ event: RolloutEvent) { queue.withLock { $0.append((route, event)) } }

    /// Every event but those of the routes in `except`, which stay queued in order.
    func takeAll(except held: Set<String> = []) -> [(route: String, event: RolloutEvent)] {
        queue.withLock { queue in
            let taken = queue.filter { !held.contains($0.route) }
            queue.removeAll { !held.contains($0.route) }
            return taken
        }
    }

    private let outputs = Mutex<[(route: String, line: String)]>([])

    /// Event-log lines for the failed hooks of `results` that printed something (bounded and escaped by the runner).
    func postHookOutputs(_ route: String, _ results: [HookResult]) {
        let lines = results.filter { !$0.passed && !$0.output.isEmpty }.map {
            "hook \($0.name) (\($0.type.rawValue)) \($0.detail), output: \($0.output)"
        }
        if !lines.isEmpty { outputs.withLock { $0 += lines.map { (route, $0) } } }
    }

    func takeHookOutputs() -> [(route: String, line: String)] {
        outputs.withLock { outputs in
            defer { outputs.removeAll() }
            return outputs
        }
    }
}

/// The state file's document: every managed route's rollout.
struct PersistedRollouts: Codable {
    var routes: [RolloutState]
    /// Each route's rollout evidence; absent in files written before it was kept.
    var evidence: [String: RolloutJudges.Evidence]?
    /// Each running watch's baseline; absent in files written before it was kept.
    var watchBaselines: [String: WatchBaseline]?
    /// When the file was written, in both clocks: a restarted process re-bases the rollback window and the
    /// watch with them. Absent in files written before they existed (which hold neither).
    var savedAt: SavedAt?
    /// In a fleet: the replica that wrote it and its term (absent in state files).
    var leader: String?
    var term: Int64?

    struct SavedAt: Codable {
        var monotonic: UInt64
        var unixTime: Double
    }

    /// `after` in a restarted process's clock, less the wall-clock time since the save (none known: closed now).
    func rebase(_ after: AfterPromotion?, now: UInt64) -> AfterPromotion? {
        guard let after else { return nil }
        guard let savedAt else { return after.rebased(savedAt: .max, elapsed: 0, now: now) }
        let elapsed = max(0, Date().timeIntervalSince1970 - savedAt.unixTime)
        return after.rebased(savedAt: savedAt.monotonic, elapsed: UInt64(min(elapsed, 1e9) * 1e9), now: now)
    }
}
