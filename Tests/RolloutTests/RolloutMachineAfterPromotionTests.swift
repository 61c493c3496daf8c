// After Succeeded, on a virtual clock: the rollback window, undo (endpoints or rollback hook), the watch, persistence.
import Analysis
import Config
import Foundation
import Rollout
import Testing

@Suite struct RolloutMachineAfterPromotionTests {
    let oldEndpoints = [HostPort(host: "127.0.0.1", port: 9001)]
    let newEndpoints = [HostPort(host: "127.0.0.1", port: 9002)]
    var previous: ArmRecord { ArmRecord(revision: "v1", endpoints: oldEndpoints) }
    var promoted: ArmRecord { ArmRecord(revision: "v2", endpoints: newEndpoints) }

    func config(window: Int = 60, watch: Int = 0, hooks: [HookType] = []) -> AnalysisConfig {
        analysisConfig {
            $0.rollbackWindow = .seconds(window)
            $0.watch = .seconds(watch)
            $0.webhooks = hooks.map(hook)
        }
    }

    /// v2 rolled out without a promote hook and promoted by a reload that moves the primary to v2's endpoints.
    func promotedByReload(_ analysis: AnalysisConfig) -> Harness {
        var h = Harness(nil)
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysis, primaryEndpoints: oldEndpoints))
        h.run { $0.phase == .promoted }
        h.drive(.configured(primaryRevision: "v2", canaryRevision: "v2", analysis: analysis, primaryEndpoints: newEndpoints))
        #expect(h.state.phase == .succeeded)
        return h
    }

    /// v2 promoted by a promote hook that deploys it in place: the primary keeps its endpoints.
    func promotedInPlace(_ analysis: AnalysisConfig) -> Harness {
        var h = Harness(nil)
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: analysis, primaryEndpoints: oldEndpoints))
        h.run { $0.phase == .succeeded }
        #expect(h.state.phase == .succeeded)
        return h
    }

    // MARK: the window

    @Test func theWindowOpensAtSucceededAndClosesAfterRollbackWindow() {
        var h = promotedByReload(config(window: 60))
        let opened = h.now
        #expect(h.state.afterPromotion?.previousPrimary == previous, "the primary as it was before the promotion")
        #expect(h.state.afterPromotion?.windowClosesAt == opened + 60 * second)
        #expect(h.state.afterPromotion?.revision == "v2")
        #expect(h.state.message.contains("undo to v1 at 127.0.0.1:9001 possible for 60s"))
        h.advance(59)
        #expect(h.machine.canApply(.undo) == nil)
        h.advance(1)
        #expect(h.state.afterPromotion == nil)
        #expect(h.state.message == "rollback window of v2 closed: undo no longer applies")
        #expect(h.state.phase == .succeeded)
    }

    @Test func noWindowWithoutRollbackWindow() {
        var h = promotedByReload(config(window: 0))
        #expect(h.state.afterPromotion == nil)
        #expect(h.machine.canApply(.undo) == "analysis.rollbackWindow is 0: nothing is kept to undo a promotion")
        h.command(.undo)
        #expect(h.state.phase == .succeeded)
    }

    @Test func undoInsideTheWindowSwitchesThePrimaryBackToItsEndpoints() {
        var h = promotedByReload(config(window: 60))
        h.advance(30)
        h.clearLog()
        h.command(.undo)
        #expect(h.log.requests == [.overridePrimary(PrimaryOverride(arm: previous, replaces: promoted))])
        #expect(h.state.phase == .failed)
        #expect(h.state.primaryRevision == "v1")
        #expect(h.state.primaryOverride == PrimaryOverride(arm: previous, replaces: promoted))
        #expect(h.state.lastUndo == UndoRecord(undone: "v2", restored: "v1", method: .endpoints, reason: "undone by operator"))
        #expect(h.state.message.hasPrefix("undone by operator: primary traffic back to v1 at 127.0.0.1:9001"))
        #expect(h.state.afterPromotion == nil, "one undo per promotion")
        #expect(h.machine.canApply(.undo) == "nothing to undo: no promotion succeeded within rollbackWindow")
    }

    @Test func undoAfterTheWindowIsRefusedWithAReason() {
        var h = promotedByReload(config(window: 60))
        h.advance(60)
        #expect(h.machine.canApply(.undo) == "nothing to undo: no promotion succeeded within rollbackWindow")
        h.clearLog()
        h.command(.undo)
        #expect(h.log.requests.isEmpty)
        #expect(h.messages == ["undo ignored: nothing to undo: no promotion succeeded within rollbackWindow"])
        #expect(h.state.phase == .succeeded)
        #expect(h.state.primaryOverride == nil)
    }

    @Test func undoIsRefusedMidRollout() {
        var h = Harness(nil)
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: config(), primaryEndpoints: oldEndpoints))
        #expect(h.state.phase == .progressing)
        #expect(h.machine.canApply(.undo) == "nothing to undo: no promotion succeeded within rollbackWindow")
    }

    @Test func theOverrideOutlivesAReloadOfTheSamePrimaryAndEndsWithAnotherOne() {
        var h = promotedByReload(config(window: 60))
        h.command(.undo)
        h.drive(.configured(primaryRevision: "v2", canaryRevision: "v2", analysis: config(), primaryEndpoints: newEndpoints))
        #expect(h.state.primaryOverride == PrimaryOverride(arm: previous, replaces: promoted), "a reload for something else keeps the undo")
        #expect(h.state.primaryRevision == "v1")
        #expect(h.state.phase == .failed, "v2 counts as analysed: no new rollout")
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: config(), primaryEndpoints: oldEndpoints))
        #expect(h.state.primaryOverride == nil)
        #expect(h.state.message == "primary override to v1 at 127.0.0.1:9001 ended: the config's primary is now v1 at 127.0.0.1:9001")
        #expect(h.state.primaryRevision == "v1")
    }

    @Test func aNewRolloutEndsTheWindow() {
        var h = promotedByReload(config(window: 60))
        h.drive(.configured(primaryRevision: "v2", canaryRevision: "v3", analysis: config(), primaryEndpoints: newEndpoints))
        #expect(h.state.phase == .progressing)
        #expect(h.state.afterPromotion == nil)
        #expect(h.messages.contains("rollback window and watch of v2 ended: revision v3 starts a new rollout"))
    }

    // MARK: undo in place

    @Test func undoInPlaceRunsTheRollbackHooks() {
        var h = promotedInPlace(config(window: 60, hooks: [.promote, .rollback]))
        #expect(h.state.afterPromotion?.previousPrimary == previous)
        h.autoAnswer = false
        h.clearLog()
        h.command(.undo)
        #expect(h.log.requests == [.runHooks(.rollback)])
        #expect(h.state.phase == .failed)
        #expect(h.state.primaryOverride == nil, "the same endpoints: nothing to re-route")
        #expect(h.state.lastUndo?.method == .rollbackHook)
        #expect(h.state.lastUndo?.hookResult == "running")
        h.send(.hooksCompleted(.rollback, passed: true, detail: "rollback-hook: passed"))
        #expect(h.state.lastUndo?.hookResult == "passed")
        #expect(h.state.message == "rollback hooks passed: v1 redeployed (v2 undone)")
    }

    @Test func aFailedRollbackHookIsReported() {
        var h = promotedInPlace(config(window: 60, hooks: [.promote, .rollback]))
        h.hookOutcome[.rollback] = false
        h.command(.undo)
        #expect(h.state.lastUndo?.hookResult == "failed: rollback said no")
        #expect(h.state.message.hasPrefix("rollback hooks failed"))
    }

    @Test func undoInPlaceWithoutARollbackHookIsRefused() {
        var h = promotedInPlace(config(window: 60, hooks: [.promote]))
        #expect(
            h.machine.canApply(.undo)
                == "v1 ran on the primary's current endpoints, and the route has no rollback hook to redeploy it")
        h.command(.undo)
        #expect(h.state.phase == .succeeded)
    }

    // MARK: the watch

    @Test func aDegradedPrimaryDuringTheWatchIsUndoneAutomatically() {
        var h = promotedByReload(config(window: 60, watch: 30))
        #expect(h.log.requests.contains(.startWatchWindow))
        h.watchScript = [[passing("watch-comparison-errors")], [failing("watch-comparison-errors")]]
        h.clearLog()
        h.advance(10)
        #expect(h.state.phase == .succeeded)
        #expect(h.state.afterPromotion?.watchedIntervals == 1)
        h.advance(10)
        #expect(h.watchIntervals == [1, 2], "each interval spends its own share of α")
        #expect(h.state.phase == .failed)
        #expect(h.log.requests.contains(.overridePrimary(PrimaryOverride(arm: previous, replaces: promoted))))
        #expect(h.state.lastUndo?.reason.hasPrefix("undone by the watch (watch: watch-comparison-errors:") == true)
        #expect(h.state.lastVerdicts.map(\.outcome) == ["fail"])
    }

    @Test func aHealthyPrimaryPassesTheWatchAndTheWatchEnds() {
        var h = promotedByReload(config(window: 60, watch: 30))
        h.defaultVerdicts = [passing("watch-comparison-errors")]
        h.advance(30)
        #expect(h.watchIntervals == [1, 2, 3])
        h.advance(1)
        #expect(h.state.afterPromotion?.watchEndsAt == nil)
        #expect(h.state.afterPromotion?.watchedIntervals == 3)
        #expect(h.state.message == "watch of v2 passed: 3 interval(s) judged against v1's pre-promotion baseline without a failure")
        #expect(h.machine.canApply(.undo) == nil, "the window outlasts the watch")
        h.advance(60)
        #expect(h.watchIntervals == [1, 2, 3], "no interval after the watch")
        #expect(h.state.afterPromotion == nil)
        #expect(h.state.phase == .succeeded)
    }

    @Test func intervalsWithoutDataDoNotCountAndDoNotUndo() {
        var h = promotedByReload(config(window: 60, watch: 20))
        h.watchScript = [[noData("watch-comparison-errors")]]
        h.advance(10)
        #expect(h.state.afterPromotion?.watchedIntervals == 0)
        #expect(h.state.phase == .succeeded)
    }

    @Test func aWatchFailureWithoutAnOpenWindowRaisesAnAlert() {
        var h = promotedByReload(config(window: 0, watch: 30))
        h.watchScript = [[failing("watch-comparison-errors")]]
        h.advance(10)
        #expect(h.state.phase == .succeeded, "nothing to undo with")
        #expect(h.state.primaryOverride == nil)
        #expect(h.state.afterPromotion?.watchAlert?.hasPrefix("watch: watch-comparison-errors:") == true)
        #expect(h.state.afterPromotion?.watchEndsAt == nil, "the watch ends at its failure")
        #expect(h.state.message.hasPrefix("ALERT: v2 degraded after its promotion and cannot be undone"))
        h.advance(30)
        #expect(h.watchIntervals == [1])
        #expect(h.state.afterPromotion?.watchAlert != nil, "shown until the next rollout")
    }

    // MARK: persistence

    @Test func theStateRoundTripsThroughJSON() throws {
        var h = promotedByReload(config(window: 60, watch: 30))
        let open = h.state
        #expect(open.afterPromotion != nil)
        #expect(try JSONDecoder().decode(RolloutState.self, from: JSONEncoder().encode(open)) == open)
        h.command(.undo)
        let undone = h.state
        #expect(undone.primaryOverride != nil && undone.lastUndo != nil)
        #expect(try JSONDecoder().decode(RolloutState.self, from: JSONEncoder().encode(undone)) == undone)
    }

    @Test func anOldStateFileWithoutTheFieldsLoads() throws {
        let old = """
            {"route":"web","phase":"Succeeded","canaryWeight":0,"failedChecks":0,"completedIterations":1,"stepIndex":1,
             "canaryRevision":"v2","primaryRevision":"v2","lastAnalysedRevision":"v2","paused":false,"promoteHookPassed":false,
             "phaseEnteredAt":5,"lastProgressAt":5,"lastVerdicts":[],"message":"promotion of v2 completed"}
            """
        let state = try JSONDecoder().decode(RolloutState.self, from: Data(old.utf8))
        #expect(state.phase == .succeeded)
        #expect(state.afterPromotion == nil && state.primaryOverride == nil && state.lastUndo == nil && state.previousPrimary == nil)
    }

    @Test func aRestoredWindowKeepsTheTimeItHadLeft() {
        let after = AfterPromotion(
            revision: "v2", previousPrimary: previous, windowClosesAt: 100 * second, watchEndsAt: 40 * second)
        // Saved at 30 s, restarted 5 s (wall clock) later in a process whose clock reads 7 s.
        let moved = after.rebased(savedAt: 30 * second, elapsed: 5 * second, now: 7 * second)
        #expect(moved.windowClosesAt == 72 * second)
        #expect(moved.watchEndsAt == 12 * second)
        let late = after.rebased(savedAt: 30 * second, elapsed: 500 * second, now: 7 * second)
        #expect(late.windowClosesAt == 7 * second, "a window that closed while the proxy was down is closed")
    }

    @Test func aRestoredWatchStartsAFreshWindowAndGoesOn() {
        var h = promotedByReload(config(window: 60, watch: 30))
        var m = RolloutMachine(route: "web", restored: h.state)
        _ = m.handle(.configured(primaryRevision: "v2", canaryRevision: "v2", analysis: config(window: 60, watch: 30)), now: h.now)
        let out = m.handle(.tick(now: h.now), now: h.now)
        #expect(out.requests == [.setWeight(0), .startWatchWindow])
        h.machine = m
        h.watchIntervals = []
        h.advance(10)
        #expect(h.watchIntervals == [1])
    }

    @Test func thePreviousPrimaryIsRecordedWhenPromotionBegins() {
        var h = Harness(nil)
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: config(), primaryEndpoints: oldEndpoints))
        h.run { $0.phase == .promoted }
        #expect(h.state.previousPrimary == previous, "persisted, so a restart in Promoted still knows it")
    }
}
