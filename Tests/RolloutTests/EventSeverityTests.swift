// The severity of each event-log entry: info as planned, warn for a failed check, error for rollbacks and failed hooks.
import Analysis
import Config
import Rollout
import Testing

@Suite struct EventSeverityTests {
    private func entries(_ h: Harness) -> [RolloutEventLog] {
        h.log.compactMap { if case .emit(let e) = $0 { e } else { nil } }
    }

    @Test func stepsAreInfoFailedChecksWarnAndTheRollbackIsAnError() {
        var h = Harness(analysisConfig { $0.threshold = 2 })
        h.advance(10)
        #expect(entries(h).allSatisfy { $0.severity == .info }, "initializing and the first steps go as planned")
        #expect(h.state.canaryWeight > 0)
        h.clearLog()
        h.defaultVerdicts = [failing()]
        h.advance(10)
        #expect(entries(h).map(\.severity) == [.warn], "one failed check below the threshold")
        h.clearLog()
        h.advance(10)
        #expect(h.state.phase == .failed)
        #expect(entries(h).map(\.severity) == [.error], "the rollback")
        #expect(entries(h).first?.message.hasPrefix("rolled back v2") == true)
    }

    @Test func aFailedPreRolloutHookIsAnError() {
        var h = Harness(nil)
        h.hookOutcome[.preRollout] = false
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.preRollout)))
        h.advance(2)
        #expect(h.state.phase == .failed)
        #expect(entries(h).last?.severity == .error)
        #expect(entries(h).last?.message.contains("pre-rollout said no") == true)
    }

    @Test func aFailedRollbackHookIsAnErrorOfItsOwn() {
        var h = Harness(withHooks(.rollback) { $0.threshold = 1 })
        h.hookOutcome[.rollback] = false
        h.defaultVerdicts = [failing()]
        h.advance(10)
        let severities = entries(h).suffix(2).map(\.severity)
        #expect(severities == [.error, .error], "the rollback, then its failed hook")
        #expect(entries(h).last?.message.hasPrefix("rollback hook failed") == true)
    }

    @Test func severitiesAreOrdered() {
        #expect(EventSeverity.info < .warn && EventSeverity.warn < .error)
        #expect(EventSeverity.allCases.sorted() == [.info, .warn, .error])
    }
}
