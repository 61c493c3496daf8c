// Hooks' idempotency keys: the rollout number that tells rollouts apart, the key's format, its encoding and its stability.
import Config
import Foundation
import Testing

@testable import Rollout

@Suite struct IdempotencyKeyTests {
    // MARK: the rollout number

    @Test func theFirstRolloutIsNumberOne() {
        let h = Harness(analysisConfig())
        #expect(h.state.canaryRevision == "v2")
        #expect(h.state.rolloutNumber == 1)
    }

    @Test func aRouteWithoutRolloutHasNoNumber() {
        let h = Harness(analysisConfig(), canary: nil)
        #expect(h.state.rolloutNumber == nil)
    }

    @Test func aNewRevisionAfterAPromotionIsTheNextRollout() {
        var h = Harness(analysisConfig())
        #expect(h.run { $0.phase == .promoted })
        h.drive(.configured(primaryRevision: "v2", canaryRevision: "v2", analysis: analysisConfig()))
        #expect(h.state.phase == .succeeded)
        #expect(h.state.rolloutNumber == 1, "finishing a rollout is not a new one")
        h.drive(.configured(primaryRevision: "v2", canaryRevision: "v3", analysis: analysisConfig()))
        #expect(h.state.canaryRevision == "v3")
        #expect(h.state.rolloutNumber == 2)
    }

    @Test func aRevisionReplacedMidRolloutIsTheNextRollout() {
        var h = Harness(analysisConfig())
        #expect(h.run { $0.phase == .progressing })
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v3", analysis: analysisConfig()))
        #expect(h.state.canaryRevision == "v3")
        #expect(h.state.rolloutNumber == 2)
    }

    @Test func aRetryOfTheSameRevisionIsTheNextRollout() {
        var h = Harness(analysisConfig())
        h.defaultVerdicts = [failing()]
        #expect(h.run { $0.phase == .failed })
        #expect(h.state.rolloutNumber == 1)
        h.defaultVerdicts = [passing()]
        h.command(.retry)
        #expect(h.state.phase != .failed)
        #expect(h.state.canaryRevision == "v2")
        #expect(h.state.rolloutNumber == 2)
    }

    @Test func aRestartResumesTheSameRollout() throws {
        var h = Harness(withHooks(.promote))
        #expect(h.run { $0.phase == .succeeded })
        // What a kill -9 while the promote hook ran leaves in the state file.
        let saved = try #require(
            h.log.lazy.compactMap { if case .persist(let s) = $0, s.phase == .promoting, !s.promoteHookPassed { s } else { nil } }.first)
        #expect(saved.rolloutNumber == 1)
        var restarted = Harness(withHooks(.promote), restored: saved)
        restarted.primaryAnswer = .silent
        restarted.advance(1)
        #expect(restarted.hookCalls == [.promote], "the promote hook is asked again")
        #expect(restarted.state.phase == .promoting)
        #expect(restarted.state.rolloutNumber == 1, "resuming is not a new rollout")
        #expect(restarted.state.idempotencyKey(for: hook(.promote)) == "web/v2/1/promote/promote-hook")
    }

    @Test func theNumberSurvivesTheStateFile() throws {
        var h = Harness(analysisConfig())
        h.command(.abort)
        h.command(.retry)
        #expect(h.state.rolloutNumber == 2)
        let restored = try JSONDecoder().decode(RolloutState.self, from: JSONEncoder().encode(h.state))
        #expect(restored == h.state)
        #expect(restored.rolloutNumber == 2)
    }

    @Test func aStateFileWrittenBeforeTheNumberLoadsAndCountsOnFromZero() throws {
        let old = """
            {"route":"web","phase":"Failed","canaryWeight":0,"failedChecks":2,"completedIterations":0,"stepIndex":1,
             "canaryRevision":"v2","primaryRevision":"v1","lastAnalysedRevision":"v2","paused":false,"promoteHookPassed":false,
             "phaseEnteredAt":5,"lastProgressAt":5,"lastVerdicts":[],"message":"rolled back"}
            """
        let state = try JSONDecoder().decode(RolloutState.self, from: Data(old.utf8))
        #expect(state.rolloutNumber == nil)
        #expect(state.idempotencyKey(for: hook(.rollback)) == "web/v2/0/rollback/rollback-hook")
        var h = Harness(analysisConfig(), restored: state)
        h.command(.retry)
        #expect(h.state.rolloutNumber == 1)
    }

    @Test func aStateWithoutTheNumberIsWrittenWithoutIt() throws {
        let json = try JSONEncoder().encode(RolloutState.initial(route: "web", primaryRevision: "v1"))
        #expect(!String(decoding: json, as: UTF8.self).contains("rolloutNumber"))
    }

    // MARK: the key

    @Test func theKeyNamesTheRouteRevisionRolloutTypeAndHook() {
        let state = RolloutState(route: "web", phase: .promoting, canaryRevision: "v2", primaryRevision: "v1", rolloutNumber: 3)
        #expect(state.idempotencyKey(for: hook(.promote)) == "web/v2/3/promote/promote-hook")
        #expect(state.idempotencyKey(for: hook(.postRollout)) == "web/v2/3/post-rollout/post-rollout-hook")
    }

    @Test func eachPartIsPercentEncodedSoTheKeyIsAHeaderValue() {
        let state = RolloutState(route: "web", phase: .promoting, canaryRevision: "release/2 ü%", primaryRevision: "v1", rolloutNumber: 1)
        let named = HookConfig(name: "deploy: prod", type: .promote, action: .exec(command: ["true"]))
        let key = state.idempotencyKey(for: named)
        #expect(key == "web/release%2F2%20%C3%BC%25/1/promote/deploy%3A%20prod")
        #expect(WebhookHeader.problem(withValue: key) == nil)
        #expect(key.split(separator: "/").count == 5, "a slash in a part does not add a part")
        #expect(IdempotencyKey.percentEncoded("AZaz09-._~") == "AZaz09-._~")
    }

    @Test func theDigestIsFNV1a() {
        // The published FNV-1a 64-bit test vectors.
        #expect(IdempotencyKey.digest("") == "cbf29ce484222325")
        #expect(IdempotencyKey.digest("a") == "af63dc4c8601ec8c")
        #expect(IdempotencyKey.digest("foobar") == "85944171f73967e8")
    }

    @Test func anEventKeyNamesTheTransition() {
        let state = RolloutState(route: "web", phase: .progressing, canaryRevision: "v2", primaryRevision: "v1", rolloutNumber: 4)
        let notify = hook(.event)
        let paused = RolloutEventLog(phase: .progressing, message: "paused by operator at weight 25%", weight: 25)
        let key = state.idempotencyKey(forEvent: notify, paused)
        #expect(key == "web/v2/4/event/event-hook/Progressing/25/" + IdempotencyKey.digest(paused.message))
        #expect(state.idempotencyKey(forEvent: notify, paused) == key, "the same event, the same key")
        let resumed = RolloutEventLog(phase: .progressing, message: "resumed by operator", weight: 25)
        let stepped = RolloutEventLog(phase: .progressing, message: paused.message, weight: 50)
        let promoting = RolloutEventLog(phase: .promoting, message: paused.message, weight: 25)
        let others = [resumed, stepped, promoting].map { state.idempotencyKey(forEvent: notify, $0) }
        #expect(Set(others + [key]).count == 4, "another message, weight or phase is another event")
    }
}
