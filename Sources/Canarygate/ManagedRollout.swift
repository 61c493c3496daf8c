// One managed route on the control thread: its state machine, its analysis windows and its judges.
import Analysis
import Config
import Proxy
import Rollout
import Telemetry

struct ManagedRollout {
    var machine: RolloutMachine
    let weight: WeightCell
    /// Where the loops read T for their in-flight sweep (`publishSlowThreshold`).
    let slowThreshold: SlowThresholdCell
    var analysis: AnalysisConfig {
        didSet { judges.analysis = analysis }
    }
    var route: RouteConfig?
    /// The rollout's judges and evidence (persisted with the state).
    private(set) var judges: RolloutJudges

    /// Counts at the start of the current analysis interval.
    private var windowStart: RouteSnapshot?
    /// Counts at the previous tick, for the per-tick deltas.
    private var lastTick: RouteSnapshot?
    /// Each arm's slow take-backs seen a tick early, for the next tick (`ArmWindow.outcomes(slowThreshold:carry:)`).
    private var canaryCarry = ArmWindow.SlowCarry(), primaryCarry = ArmWindow.SlowCarry()
    /// The primary's windows of the last analysed intervals (`WatchJudge.baselineIntervals`): at the watch's
    /// start, the old primary's pre-promotion baseline (persisted while the watch runs).
    private var recentPrimary: [ArmWindow] = []
    private(set) var watchBaseline: ArmWindow?
    /// Counts at the start of the current watch interval.
    private var watchStart: RouteSnapshot?

    init(
        machine: RolloutMachine, weight: WeightCell, slowThreshold: SlowThresholdCell = SlowThresholdCell(), analysis: AnalysisConfig,
        evidence: RolloutJudges.Evidence? = nil, watchBaseline: ArmWindow? = nil
    ) {
        self.machine = machine
        self.weight = weight
        self.slowThreshold = slowThreshold
        self.analysis = analysis
        self.watchBaseline = watchBaseline
        judges = RolloutJudges(analysis: analysis, revision: machine.state.canaryRevision, restored: evidence)
    }

    /// Judging runs whenever the canary takes traffic before it has become the primary, up to 100% in
    /// Promoted, and at 0 while iterations hold it live for its cohort or mirrored copies: a dead canary is
    /// rolled back at any weight. (A pause freezes progress, not safety.)
    private var judging: Bool {
        switch machine.state.phase {
        case .progressing, .waitingPromotion, .promoting, .promoted: return weight.weight > 0 || weight.liveAtZero
        default: return false
        }
    }

    /// A new rollout begins (a new revision or a retry): new evidence, a new α.
    mutating func beginRollout() {
        judges.beginRollout(revision: machine.state.canaryRevision)
        recentPrimary = []
        watchBaseline = nil
    }

    /// A new interval window. The rollout's evidence carries on.
    mutating func startWindow(_ current: RouteSnapshot) {
        windowStart = current
        lastTick = current
    }

    /// Feeds the tick's counts to the judges; a failing verdict means "roll back now".
    mutating func observeTick(_ current: RouteSnapshot, now: UInt64) -> Verdict? {
        defer { lastTick = current }
        guard judging, let previous = lastTick else { return nil }
        let delta = current.delta(since: previous)
        return judges.observeTick(
            canary: ArmWindow(delta.canary), primary: ArmWindow(delta.primary), weight: weight.weight, now: now,
            canaryCarry: &canaryCarry, primaryCarry: &primaryCarry)
    }

    /// Publishes to the loops the T the next tick judges by: the judges' slow threshold while judging at a
    /// canary weight of 50 or less, none otherwise (as `RolloutJudges.observeTick` counts the slow class).
    /// Loops then count a request in flight past T as slow before it ends.
    func publishSlowThreshold() {
        slowThreshold.set(seconds: judging && weight.weight <= 50 ? judges.slowThreshold : nil)
    }

    /// `pace: evidence`: while progressing, whether the step may be analysed now. `canaryClients`: a
    /// sticky route's distinct canary clients (nil without affinity), which must reach `minClients` first.
    mutating func evidenceAllowsAdvance(now: UInt64, canaryClients: Double? = nil) -> Bool {
        machine.state.phase == .progressing && weight.weight > 0
            && canaryClients.map { ClientGate.allows(canaryClients: $0, minClients: analysis.minClients) } ?? true
            && judges.evidenceAllowsAdvance(now: now)
    }

    /// The interval's verdicts, as the machine's answer (which says when the canary had no request at
    /// all), and for a sticky route the client gate's (`canaryClients` not nil); starts the next interval.
    mutating func analyseInterval(_ current: RouteSnapshot, canaryClients: Double? = nil) -> RolloutEvent {
        let delta = current.delta(since: windowStart ?? current)
        windowStart = current
        let canary = ArmWindow(delta.canary)
        let primary = ArmWindow(delta.primary)
        recentPrimary = (recentPrimary + [primary]).suffix(WatchJudge.baselineIntervals)
        var verdicts = judges.analyseInterval(canary: canary, primary: primary)
        if let canaryClients { verdicts.append(ClientGate.verdict(canaryClients: canaryClients, minClients: analysis.minClients)) }
        let silent = canary.n == 0 && canary.aborts == 0 && canary.slowInFlight == 0
        return silent ? .intervalWithoutCanaryTraffic(verdicts) : .intervalVerdicts(verdicts)
    }

    /// The watch after a promotion begins (or resumes after a restart): its baseline is frozen the first time.
    mutating func startWatch(_ current: RouteSnapshot) {
        if watchBaseline == nil { watchBaseline = WatchJudge.baseline(recentPrimary) }
        watchStart = current
    }

    /// The watch interval's verdicts on the primary arm; starts the next watch interval.
    mutating func analyseWatch(_ current: RouteSnapshot, index: Int) -> [Verdict] {
        let delta = current.delta(since: watchStart ?? current)
        watchStart = current
        return WatchJudge.evaluate(current: ArmWindow(delta.primary), baseline: watchBaseline, analysis: analysis, index: index)
    }
}
