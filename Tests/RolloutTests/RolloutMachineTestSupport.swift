// A virtual-clock harness for RolloutMachine: sends events, answers its requests like a scripted controller.
import Analysis
import Config
import Rollout
import Testing

let second: UInt64 = 1_000_000_000

/// A test route's analysis: interval 10s, threshold 2, steps of 25 up to 50, deadline 60s, probes every 1s.
func analysisConfig(_ modify: (inout AnalysisConfig) -> Void = { _ in }) -> AnalysisConfig {
    var a = AnalysisConfig()
    a.interval = .seconds(10)
    a.threshold = 2
    a.stepWeight = 25
    a.maxWeight = 50
    a.progressDeadline = .seconds(60)
    a.readiness.interval = .seconds(1)
    modify(&a)
    return a
}

func hook(_ type: HookType) -> HookConfig {
    HookConfig(name: "\(type.rawValue)-hook", type: type, action: .exec(command: ["true"]))
}

func withHooks(_ types: HookType..., modify: (inout AnalysisConfig) -> Void = { _ in }) -> AnalysisConfig {
    analysisConfig {
        $0.webhooks = types.map(hook)
        modify(&$0)
    }
}

func passing(_ judge: String = "request-success-rate") -> Verdict {
    Verdict(judge: judge, outcome: .pass, summary: "\(judge) ok", evidence: [.init("n", 100)])
}

func failing(_ judge: String = "request-success-rate") -> Verdict {
    Verdict(judge: judge, outcome: .fail, summary: "success rate 90% < 99% (n=100)", evidence: [.init("value", 90), .init("min", 99)])
}

func noData(_ judge: String = "request-success-rate") -> Verdict {
    Verdict(judge: judge, outcome: .noData, summary: "3 requests < minRequests 10", evidence: [.init("n", 3)])
}

/// Drives one machine as the controller would, with a clock that only moves when told to.
struct Harness {
    enum PrimaryAnswer { case silent, ready(String?) }

    var machine: RolloutMachine
    var now: UInt64 = 0
    /// Every action the machine returned, in order.
    var log: [RolloutAction] = []
    /// Answer requests automatically (false: the test answers by hand with `send`).
    var autoAnswer = true
    var canaryReady = true
    /// Hook outcomes by type; missing types pass.
    var hookOutcome: [HookType: Bool] = [:]
    var hookCalls: [HookType] = []
    /// Verdicts for the next intervals, one entry each; then `defaultVerdicts`.
    var verdictScript: [[Verdict]] = []
    var defaultVerdicts = [passing(), passing("comparison-errors")]
    var intervalsAnalysed = 0
    /// false: the canary had no request in the intervals (answered `.intervalWithoutCanaryTraffic`).
    var canaryTraffic = true
    /// Verdicts for the next watch intervals after a promotion, one entry each; then `defaultVerdicts`.
    var watchScript: [[Verdict]] = []
    var watchIntervals: [Int] = []
    var primaryAnswer = PrimaryAnswer.ready("v2")
    /// `handle` calls, and those that changed the state.
    var calls = 0
    var changes = 0

    init(_ analysis: AnalysisConfig?, primary: String = "v1", canary: String? = "v2", restored: RolloutState? = nil, at now: UInt64 = 0) {
        machine = RolloutMachine(route: "web", restored: restored)
        self.now = now
        if let analysis { drive(.configured(primaryRevision: primary, canaryRevision: canary, analysis: analysis)) }
    }

    var state: RolloutState { machine.state }

    /// One event, no automatic answers; checks the persist contract on every call.
    @discardableResult
    mutating func send(_ event: RolloutEvent, sourceLocation: SourceLocation = #_sourceLocation) -> [RolloutAction] {
        let before = machine.state
        let out = machine.handle(event, now: now)
        calls += 1
        if machine.state != before { changes += 1 }
        let persists = out.indices.filter { if case .persist = out[$0] { true } else { false } }
        if machine.state != before {
            #expect(persists == [out.count - 1], "one persist, last, after a change", sourceLocation: sourceLocation)
            #expect(out.last == .persist(machine.state), sourceLocation: sourceLocation)
        } else {
            #expect(persists.isEmpty, "no persist without a change", sourceLocation: sourceLocation)
        }
        log += out
        return out
    }

    /// One event, then the answers to whatever it asked for, and so on until the machine asks nothing more.
    @discardableResult
    mutating func drive(_ event: RolloutEvent, sourceLocation: SourceLocation = #_sourceLocation) -> [RolloutAction] {
        var queue = [event]
        var all: [RolloutAction] = []
        while !queue.isEmpty {
            let out = send(queue.removeFirst(), sourceLocation: sourceLocation)
            all += out
            if autoAnswer { queue += out.compactMap { answer($0) } }
        }
        return all
    }

    mutating func answer(_ action: RolloutAction) -> RolloutEvent? {
        switch action {
        case .runHooks(let type):
            hookCalls.append(type)
            let passed = hookOutcome[type] ?? true
            return .hooksCompleted(type, passed: passed, detail: passed ? "ok" : "\(type.rawValue) said no")
        case .probeCanaryReadiness:
            return .canaryReady(canaryReady)
        case .analyseInterval:
            intervalsAnalysed += 1
            let verdicts = verdictScript.isEmpty ? defaultVerdicts : verdictScript.removeFirst()
            return canaryTraffic ? .intervalVerdicts(verdicts) : .intervalWithoutCanaryTraffic(verdicts)
        case .probePrimary:
            if case .ready(let revision) = primaryAnswer { return .primaryReady(revision: revision) }
            return nil
        case .analyseWatchInterval(let index):
            watchIntervals.append(index)
            return .watchVerdicts(watchScript.isEmpty ? defaultVerdicts : watchScript.removeFirst())
        default:
            return nil
        }
    }

    /// Moves the clock by `seconds`, ticking every second.
    mutating func advance(_ seconds: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        for _ in 0..<seconds {
            now += second
            drive(.tick(now: now), sourceLocation: sourceLocation)
        }
    }

    /// Ticks every second until `done` holds; false if it did not within `limit` seconds.
    @discardableResult
    mutating func run(upTo limit: Int = 600, until done: (RolloutState) -> Bool) -> Bool {
        for _ in 0..<limit {
            if done(machine.state) { return true }
            advance(1)
        }
        return done(machine.state)
    }

    @discardableResult
    mutating func command(_ verb: ManualVerb) -> [RolloutAction] { drive(.command(verb)) }

    /// The weights set, in order.
    var weights: [Int] { log.compactMap { if case .setWeight(let w) = $0 { w } else { nil } } }
    /// The live-at-zero switches, in order.
    var liveSwitches: [Bool] { log.compactMap { if case .setCanaryLive(let live) = $0 { live } else { nil } } }
    var messages: [String] { log.compactMap { if case .emit(let e) = $0 { e.message } else { nil } } }
    /// Distinct phases as they were entered (from the persisted states).
    var phases: [Phase] {
        log.compactMap { if case .persist(let s) = $0 { s.phase } else { nil } }
            .reduce(into: [Phase]()) { if $0.last != $1 { $0.append($1) } }
    }

    mutating func clearLog() {
        log = []
        hookCalls = []
    }
}

extension Array where Element == RolloutAction {
    /// The actions without `.emit` and `.persist`, to compare the requests a call made.
    var requests: [RolloutAction] {
        filter {
            switch $0 {
            case .emit, .persist: false
            default: true
            }
        }
    }
}
