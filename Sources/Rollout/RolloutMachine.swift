// One route's rollout as a pure value: events in, actions out (README, "The process"), driven by a virtual clock.
import Analysis
import Config

/// The rollout state machine. It never touches a socket, a file or a real clock: the controller feeds it
/// events with the time, performs the actions it returns, and answers its requests with further events.
///
/// Timing is driven by `.tick`: every periodic thing (readiness probes, analysis intervals, gate re-asks,
/// promotion steps, deadlines) is checked against the tick's time, so the controller may tick as often as it
/// likes (e.g. every 100 ms) and tests can move a virtual clock.
///
/// Only `state` is persisted. What is not (the config, the request the machine is waiting for, when the next
/// periodic step is due) is rebuilt after a restart by the controller's `.configured` and the first `.tick`,
/// which re-issue the current stage's request: a fresh analysis window, the readiness probe, the gate or hook
/// of the stage. Hooks may therefore run more than once per rollout and must be idempotent — as Flagger's
/// webhooks, which it re-calls on every reconciliation, are expected to be.
public struct RolloutMachine: Sendable {
    public internal(set) var state: RolloutState

    /// The route's latest `analysis` section; nil: the route is not managed by a rollout.
    var analysis: AnalysisConfig?
    var configuredPrimary: String
    var configuredCanary: String?
    /// Where the config sends the primary traffic (what a promotion remembers for `rollbackWindow`).
    var configuredPrimaryEndpoints: [HostPort] = []
    /// The answer the machine is waiting for; anything else of that kind is stale and ignored.
    var awaiting: Awaiting?
    /// When the current stage's periodic step (probe, interval, gate re-ask, promotion step) is next due.
    var dueAt: UInt64 = 0
    /// Restored from a state file and not yet resumed (the first event after the config does it).
    var needsResume: Bool
    /// The current event's time and the actions collected for it.
    var now: UInt64 = 0
    var actions: [RolloutAction] = []

    enum Awaiting: Sendable, Equatable {
        case hooks(HookType)
        case verdicts
        case watchVerdicts
    }

    /// A fresh route, or one restored from its state file (the controller re-bases the timestamps first).
    public init(route: String, restored: RolloutState?) {
        if var restored {
            restored.route = route
            state = restored
            needsResume = true
        } else {
            state = .initial(route: route, primaryRevision: "")
            needsResume = false
        }
        configuredPrimary = state.primaryRevision
        configuredCanary = state.canaryRevision
    }

    /// Feeds one event at virtual-clock time `now` (a tick's own time takes precedence); returns the actions to
    /// perform in order, ending with exactly one `.persist` if the state changed and none otherwise.
    public mutating func handle(_ event: RolloutEvent, now: UInt64) -> [RolloutAction] {
        let before = state
        actions = []
        self.now = now
        if case .tick(let tickTime) = event { self.now = tickTime }
        // A restored rollout resumes on the first event after its config, whatever it is; a reload itself may
        // restart or cancel it instead, so it is judged first.
        if needsResume, !event.isConfiguration { resumeAfterRestore() }
        switch event {
        case .configured(let primary, let canary, let analysis, let endpoints):
            configure(primary: primary, canary: canary, analysis: analysis, endpoints: endpoints)
        case .tick:
            tick()
        case .canaryReady(let ready):
            canaryReady(ready)
        case .hooksCompleted(let type, let passed, let detail):
            hooksCompleted(type, passed: passed, detail: detail)
        case .intervalVerdicts(let verdicts):
            intervalVerdicts(verdicts)
        case .intervalWithoutCanaryTraffic(let verdicts):
            intervalWithoutCanaryTraffic(verdicts)
        case .immediateFailure(let verdict):
            immediateFailure(verdict)
        case .primaryReady(let revision):
            primaryReady(revision: revision)
        case .command(let verb):
            apply(verb)
        case .evidenceSufficient:
            analyseEarly()
        case .watchVerdicts(let verdicts):
            watchVerdicts(verdicts)
        }
        if state != before { actions.append(.persist(state)) }
        defer { actions = [] }
        return actions
    }

    // MARK: - The clock

    mutating func tick() {
        // Paused: the timers are frozen, including the deadlines (resume restarts them).
        guard !state.paused, !needsResume, let analysis else { return }
        switch state.phase {
        case .initializing: tickInitializing(analysis)
        case .waiting: if awaiting == nil, now >= dueAt { askConfirmRollout() }
        case .progressing, .waitingPromotion: tickAnalysis(analysis)
        case .promoting: tickPromoting(analysis)
        case .succeeded: tickAfterPromotion(analysis)
        case .initialized, .promoted, .finalising, .failed, .held: break
        }
    }

    /// The first event after a restore: tell the data plane the persisted weight, then redo the stage's request.
    mutating func resumeAfterRestore() {
        // An in-progress rollout needs its config (interval, hooks) to go on; wait for `.configured`.
        guard !state.phase.isInProgress || analysis != nil else { return }
        needsResume = false
        actions.append(.setWeight(state.canaryWeight))
        // A fresh process's cells are not live; only a live hold needs telling.
        if state.isCanaryLiveAtZero { actions.append(.setCanaryLive(true)) }
        guard state.phase.isInProgress else {
            resumeWatch()
            return
        }
        state.lastProgressAt = now
        note(
            "resumed after a restart at \(state.phase.rawValue), weight \(state.canaryWeight)%"
                + (state.paused ? " (paused)" : ""))
        if !state.paused { resumeStage() }
    }

    /// Re-issues what the current phase waits on: after a restart, or when an operator resumes.
    mutating func resumeStage() {
        awaiting = nil
        switch state.phase {
        case .initializing: probeReadiness()
        case .waiting: askConfirmRollout()
        case .initialized: runPreRollout()
        case .progressing, .waitingPromotion: openWindow()
        case .promoting: resumePromotion()
        case .finalising: finalise()
        case .promoted, .succeeded, .failed, .held: break
        }
    }

    // MARK: - Helpers shared by the stages

    /// Changes the phase; `phaseEnteredAt` only moves when the phase really changes.
    mutating func enter(_ phase: Phase) {
        guard phase != state.phase else { return }
        state.phase = phase
        state.phaseEnteredAt = now
    }

    /// Sets the canary's weight, asking the data plane only when it changes. Any weight set here ends a live
    /// hold at 0 (after the new weight, so a canary going up is never dark in between): rollbacks, finalising,
    /// a new rollout and promotions all leave it so; only `holdLiveAtZero` starts one.
    mutating func setWeight(_ weight: Int) {
        if weight != state.canaryWeight {
            state.canaryWeight = weight
            actions.append(.setWeight(weight))
        }
        setCanaryLive(false)
    }

    /// Records why, and tells the event log (and the `event` hooks) with the phase and weight as they are now.
    mutating func note(_ message: String, severity: EventSeverity = .info) {
        state.message = message
        emitOnly(message, severity: severity)
    }

    /// An event-log line that changes nothing (an ignored verb, a failed rollback hook).
    mutating func emitOnly(_ message: String, severity: EventSeverity = .info) {
        actions.append(.emit(RolloutEventLog(phase: state.phase, message: message, weight: state.canaryWeight, severity: severity)))
    }

    /// Runs the hooks of `type` if the route has any, waiting for their answer; false if there are none.
    mutating func requestHooks(_ type: HookType) -> Bool {
        guard hasHooks(type) else { return false }
        awaiting = .hooks(type)
        actions.append(.runHooks(type))
        return true
    }

    func hasHooks(_ type: HookType) -> Bool {
        analysis?.webhooks.contains { $0.type == type } ?? false
    }

    func elapsed(since start: UInt64) -> UInt64 { now >= start ? now - start : 0 }

    func deadlinePassed(_ analysis: AnalysisConfig) -> Bool {
        elapsed(since: state.lastProgressAt) >= Self.nanoseconds(analysis.progressDeadline)
    }

    static func nanoseconds(_ d: Duration) -> UInt64 {
        let c = d.components
        guard c.seconds >= 0 else { return 0 }
        return UInt64(c.seconds) * 1_000_000_000 + UInt64(c.attoseconds / 1_000_000_000)
    }

    static func describe(_ d: Duration) -> String {
        let ns = nanoseconds(d)
        return ns % 1_000_000_000 == 0 ? "\(ns / 1_000_000_000)s" : "\(ns / 1_000_000)ms"
    }
}

extension RolloutEvent {
    fileprivate var isConfiguration: Bool {
        if case .configured = self { true } else { false }
    }
}
