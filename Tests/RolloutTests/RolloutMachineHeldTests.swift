// A rollout whose state file was unreadable: held at weight 0 until an operator decides, never restarted by itself.
import Analysis
import Config
import Rollout
import Testing

@Suite struct RolloutMachineHeldTests {
    static let reason = "the state file /var/lib/canarygate/state.json could not be read"

    /// A machine that starts from a lost state with the given config (hooks of every kind, so any that ran would show).
    static func held(canary: String? = "v2", primary: String = "v1") -> Harness {
        Harness(
            withHooks(.confirmRollout, .preRollout, .promote, .rollback), primary: primary, canary: canary,
            restored: .held(route: "web", reason: reason))
    }

    @Test func aLostStateHoldsTheCanaryAtWeightZeroWithoutProbingOrHooks() {
        var h = Self.held()
        #expect(h.state.phase == .held)
        #expect(h.state.canaryWeight == 0)
        #expect(h.state.canaryRevision == "v2")
        #expect(h.state.message.contains(Self.reason) && h.state.message.contains("retry, abort or promote --force"), "\(h.state.message)")
        h.advance(3600)
        #expect(h.state.phase == .held)
        #expect(h.hookCalls.isEmpty)
        #expect(!h.log.contains(.probeCanaryReadiness))
        #expect(h.weights.allSatisfy { $0 == 0 } && h.weights.first == 0, "weights \(h.weights)")
        // A late answer to a request of the previous process changes nothing either.
        #expect(h.send(.canaryReady(true)).requests.allSatisfy { $0 == .setWeight(0) })
        #expect(h.send(.hooksCompleted(.preRollout, passed: true, detail: "ok")).requests.isEmpty)
        #expect(h.state.phase == .held)
    }

    @Test func reloadingTheSameRevisionKeepsItHeldAndANewRevisionStartsARollout() {
        var h = Self.held()
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.preRollout)))
        #expect(h.state.phase == .held && h.hookCalls.isEmpty)
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v3", analysis: withHooks(.preRollout)))
        #expect(h.state.canaryRevision == "v3")
        #expect(h.state.phase == .progressing, "\(h.state.phase): \(h.messages)")
        #expect(h.hookCalls == [.preRollout])
    }

    @Test func aCanaryThatIsAlreadyThePrimaryHasNothingToHold() {
        let h = Self.held(canary: "v1", primary: "v1")
        #expect(h.state.phase == .succeeded && h.state.canaryWeight == 0)
        #expect(h.hookCalls.isEmpty)
    }

    @Test func resumeAndPlainPromoteAreRefusedWithWhatToDoInstead() {
        var h = Self.held()
        for verb in [ManualVerb.resume, .promote(force: false), .pause] {
            let reason = h.machine.canApply(verb)
            #expect(reason != nil, "\(verb.name) applies to a held rollout")
            h.command(verb)
            #expect(h.state.phase == .held)
        }
        #expect(h.machine.canApply(.resume)?.contains("retry, abort or promote --force") == true)
    }

    @Test func retryRunsTheRevisionFromReadiness() {
        var h = Self.held()
        #expect(h.machine.canApply(.retry) == nil)
        h.clearLog()
        h.command(.retry)
        #expect(h.log.contains(.probeCanaryReadiness))
        #expect(h.hookCalls == [.confirmRollout, .preRollout])
        #expect(h.state.phase == .progressing)
    }

    @Test func abortMarksTheRevisionRolledBackAndRunsTheRollbackHooks() {
        var h = Self.held()
        #expect(h.machine.canApply(.abort) == nil)
        h.command(.abort)
        #expect(h.state.phase == .failed && h.state.canaryWeight == 0)
        #expect(h.state.lastAnalysedRevision == "v2")
        #expect(h.hookCalls == [.rollback])
        // The same revision again stays rolled back.
        h.drive(.configured(primaryRevision: "v1", canaryRevision: "v2", analysis: withHooks(.preRollout)))
        #expect(h.state.phase == .failed)
    }

    @Test func aForcedPromotionRunsThePromoteHook() {
        var h = Self.held()
        #expect(h.machine.canApply(.promote(force: true)) == nil)
        h.command(.promote(force: true))
        #expect(h.hookCalls == [.promote])
        #expect(h.state.phase == .finalising || h.state.phase == .succeeded, "\(h.state.phase): \(h.messages)")
        #expect(!h.log.contains(.probeCanaryReadiness))
    }

    @Test func aHeldRolloutStaysHeldAcrossARestart() {
        let first = Self.held()
        var h = Harness(withHooks(.preRollout), restored: first.state)
        h.advance(30)
        #expect(h.state.phase == .held && h.state.canaryWeight == 0)
        #expect(h.hookCalls.isEmpty)
        #expect(!h.log.contains(.probeCanaryReadiness))
    }
}

@Suite struct HeldRolloutNumberTests {
    /// The controller seeds a lost state's count with the Unix time: a retry then counts past every earlier
    /// rollout of the route, so no hook of it repeats an earlier rollout's idempotency key.
    @Test func aRetryOfAHeldRolloutCountsOnFromTheSeed() {
        var h = Harness(
            withHooks(.preRollout), primary: "v1", canary: "v2",
            restored: .held(route: "web", reason: RolloutMachineHeldTests.reason, rolloutNumber: 1_796_000_000))
        #expect(h.state.rolloutNumber == 1_796_000_000)
        h.command(.retry)
        #expect(h.state.rolloutNumber == 1_796_000_001)
        #expect(
            h.state.idempotencyKey(for: HookConfig(name: "smoke", type: .preRollout, action: .exec(command: ["true"]))).contains(
                "/1796000001/"))
    }
}
