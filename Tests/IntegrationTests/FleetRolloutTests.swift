// Fleet mode end to end: three replicas on one etcd run one rollout — one decision, one weight, one leader's hooks.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Fleet rollouts", .serialized, .enabled(if: EtcdServer.isAvailable))
    struct FleetRollouts {
        /// A route `web` with a healthy canary, short intervals, and the fleet's deadline long enough for a failover.
        /// A promotion completes when the primary reports the canary's revision (see `primary(reporting:)`).
        static func healthySpec(primary: TestUpstream, canary: TestUpstream) -> RolloutSpec {
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.ignoreLoopbackLatencyJitter()
            spec.interval = "500ms"
            spec.progressDeadline = "30s"
            spec.extraAnalysis.append("readiness: { http: /healthz, revisionHeader: x-revision, interval: 100ms }")
            return spec
        }

        /// The primary (body "v1"), naming in X-Revision the revision it runs: `reported`, which the test sets to
        /// "v2" when the deploy system has made the canary's revision the primary's.
        static func primary(reporting reported: Guarded<String>) throws -> TestUpstream {
            try TestUpstream(name: "primary") { _ in .respond(.text("v1", headers: [HTTPField("X-Revision", reported.value)])) }
        }

        /// The sequential judge's `canary-requests` in the last verdicts: every canary request the leader's judges
        /// were fed since the rollout began (the judge adds each tick's counts).
        static func judgedCanaryRequests(_ s: RolloutStatus) -> Int? {
            s.verdicts.first { $0.judge == "sequential" }?.evidence["canary-requests"].map { Int($0) }
        }

        /// Samples the fleet until the leader's phase is one of `phases` (at most 20 s): each time every replica has
        /// applied one state revision, each must serve the weight of the leader's state. The weights seen, the samples.
        static func checkOneWeight(_ fleet: Fleet, leader: String, until phases: Set<String>) -> (weights: Set<Int>, rounds: Int) {
            var weights: Set<Int> = []
            var rounds = 0
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                guard let agreed = fleet.agreedStatuses(), let fleetState = agreed.first(where: { $0.replica == leader }) else {
                    Issue.record("the replicas never showed one state revision: \(fleet.statuses())")
                    break
                }
                rounds += 1
                let fleetWeight = fleetState.rollout.weight
                for s in agreed {
                    #expect(
                        s.canaryWeight == fleetWeight && s.rollout.weight == fleetWeight && s.phase == fleetState.phase,
                        "at state revision \(fleetState.stateRevision ?? -1): \(agreed)")
                }
                weights.insert(fleetWeight)
                if phases.contains(fleetState.phase) { break }
            }
            return (weights, rounds)
        }

        /// Each replica's canary responses (its /metrics) once two reads 100 ms apart agree; nil if they never did in 3 s.
        static func settledCanaryRequests(_ fleet: Fleet) -> [String: Int]? {
            let read = { Dictionary(uniqueKeysWithValues: fleet.replicas.map { ($0.name, (try? $0.canaryRequests()) ?? -1) }) }
            let deadline = Date().addingTimeInterval(3)
            var last = read()
            while Date() < deadline {
                usleep(100_000)
                let now = read()
                if now == last && !now.values.contains(-1) { return now }
                last = now
            }
            return nil
        }

        /// The replicas' log lines saying one of them became leader.
        static func leadershipLines(_ fleet: Fleet) -> [String] {
            fleet.replicas.flatMap { $0.proxy.logLines(containing: " leads (term ") }
        }

        @Test func oneDecisionAndOneWeightForTheWholeFleetUnderLoad() throws {
            let reported = Guarded("v1")
            let primary = try Self.primary(reporting: reported)
            let canary = try TestUpstream.arm("canary", text: "v2")
            // The promotion gate fails until the test has compared the evidence: the rollout waits at maxWeight.
            let hooks = try WebhookReceiver()
            hooks.answer("/gate", with: 500)
            defer { primary.stop(); canary.stop(); hooks.stop() }
            var spec = Self.healthySpec(primary: primary, canary: canary)
            spec.interval = "1s"  // the state changes at most once an interval: room for a few agreed samples per step
            spec.hooks = [
                .webhook("gate", "confirm-promotion", url: hooks.url("/gate")),
                .webhook("deploy", "promote", url: hooks.url("/promote")),
                .webhook("notify", "post-rollout", url: hooks.url("/post")),
            ]
            try withFleet(spec, replicas: 3) { fleet in
                let (leader, _) = try #require(fleet.waitForLeader(timeout: 5), "no leader\n\(fleet.logTails())")
                try withFleetLoad(fleet) { load in
                    // While the rollout steps, every replica that applied the same state revision serves the same weight.
                    let (weightsSeen, rounds) = Self.checkOneWeight(fleet, leader: leader.name, until: ["WaitingPromotion", "Failed"])
                    let held = fleet.waitUntilAll(timeout: 5) { $0.phase == "WaitingPromotion" }
                    #expect(held.met, "never waited for promotion: \(held.statuses)\n\(fleet.logTails())")
                    #expect(
                        rounds >= 3 && weightsSeen.isSuperset(of: [25, 50]),
                        "weights seen agreed over \(rounds) samples: \(weightsSeen.sorted())")

                    // The leader judges every replica's canary requests, summed.
                    load.stop()
                    let perReplica = try #require(Self.settledCanaryRequests(fleet), "the replicas' canary counters kept moving")
                    let sum = perReplica.values.reduce(0, +)
                    #expect(perReplica.values.allSatisfy { $0 > 0 }, "every replica served canary requests: \(perReplica)")
                    #expect(
                        sum == load.count(body: "v2"), "the replicas' canary counts \(perReplica) vs the clients' \(load.count(body: "v2"))"
                    )
                    let (judged, matched) = try leader.proxy.waitForRollout(timeout: 5) { Self.judgedCanaryRequests($0) == sum }
                    print(
                        "fleet: one weight in \(rounds) agreed samples at \(weightsSeen.sorted()); canary requests \(perReplica) = \(sum), judged \(Self.judgedCanaryRequests(judged) ?? -1)"
                    )
                    #expect(
                        matched,
                        "leader judged \(Self.judgedCanaryRequests(judged).map(String.init) ?? "nil") canary requests, the replicas served \(perReplica) = \(sum): \(judged)"
                    )
                }
                // Let it promote (the deploy system makes v2 the primary's revision): every replica ends Succeeded.
                hooks.answer("/gate", with: 200)
                reported.withValue { $0 = "v2" }
                let (done, finished) = fleet.waitUntilAll(timeout: 10) { $0.phase == "Succeeded" }
                #expect(finished, "not Succeeded everywhere: \(done)\n\(fleet.logTails())")
                #expect(Set(done.map(\.canaryWeight)).count == 1, "weights after the rollout: \(done)")

                // One leader for the whole rollout, and its hooks ran once for the fleet.
                let leaderships = Self.leadershipLines(fleet)
                #expect(leaderships.count == 1 && leaderships[0].contains("fleet: \(leader.name) leads"), "\(leaderships)")
                #expect(Posix.waitUntil(timeout: 5) { !hooks.calls(type: "post-rollout").isEmpty }, "no post-rollout call")
                #expect(
                    !Posix.waitUntil(timeout: 1) { hooks.calls(type: "post-rollout").count > 1 || hooks.calls(type: "promote").count > 1 },
                    "hooks ran more than once: \(hooks.received)")
                #expect(hooks.calls(type: "promote").count == 1, "promote calls: \(hooks.received)")
                #expect(hooks.calls(type: "confirm-promotion").allSatisfy { $0.revision == "v2" })
            }
        }

        @Test func aLeaderKilledMidRolloutIsReplacedWithinFiveSecondsAndTheRolloutResumes() throws {
            // The deploy system (the promote hook) is done at once: the primary reports v2 from the start.
            let primary = try Self.primary(reporting: Guarded("v2"))
            let canary = try TestUpstream.arm("canary", text: "v2")
            let hooks = try WebhookReceiver()
            defer { primary.stop(); canary.stop(); hooks.stop() }
            var spec = Self.healthySpec(primary: primary, canary: canary)
            spec.maxWeight = 75  // steps left after the failover: 25 → 50 → 75
            spec.hooks = [.webhook("deploy", "promote", url: hooks.url("/promote"))]
            try withFleet(spec, replicas: 3) { fleet in
                let (first, _) = try #require(fleet.waitForLeader(timeout: 5), "no leader\n\(fleet.logTails())")
                try withFleetLoad(fleet) { _ in
                    let (mid, progressing) = fleet.waitUntilAll(timeout: 15) { $0.phase == "Progressing" && $0.canaryWeight >= 25 }
                    #expect(progressing, "never progressed: \(mid)\n\(fleet.logTails())")
                    let before = try #require(fleet.storedRollout(), "no stored state")
                    let weightBefore = try #require(before["canaryWeight"] as? Int)
                    let numberBefore = try #require(before["rolloutNumber"] as? Int, "no rolloutNumber: \(before)")

                    // No leader for a while: the survivors keep serving the canary at the stored weight.
                    let killedAt = Date()
                    #expect(first.kill9() == 128 + SIGKILL)
                    var lowest = Int.max
                    var next: (replica: FleetReplica, seconds: Double)?
                    while next == nil && Date().timeIntervalSince(killedAt) < 6 {
                        for s in fleet.statuses() {
                            lowest = min(lowest, s.canaryWeight)
                            if s.role == "leader" { next = (fleet.replica(s.replica)!, Date().timeIntervalSince(killedAt)) }
                        }
                        usleep(20_000)
                    }
                    let (successor, seconds) = try #require(next, "no new leader within 6 s\n\(fleet.logTails())")
                    print(
                        "fleet failover at weight \(weightBefore): \(successor.name) leads \(String(format: "%.2f", seconds)) s after the leader was killed -9"
                    )
                    #expect(seconds < 5, "failover took \(seconds) s")
                    #expect(lowest >= weightBefore, "a survivor's weight fell to \(lowest) (stored \(weightBefore)) while nobody led")

                    // It resumes the stored rollout: same canary and rollout number, no fresh start, then finishes.
                    let resumed = try successor.status()
                    #expect(
                        resumed.phase != "Initializing" && resumed.rollout.canaryRevision == "v2" && resumed.rollout.weight >= weightBefore,
                        "the new leader resumed at \(resumed)")
                    // The agent's role shows first; the controller takes over on its next control tick.
                    #expect(
                        Posix.waitUntil(timeout: 2) {
                            successor.proxy.logLines(containing: "leads (term").contains {
                                $0.contains("resuming 1 rollout(s) from the stored state")
                            }
                        }, "\(successor.proxy.logLines(containing: "leads (term"))")
                    var phases: [String] = []
                    let (done, finished) = fleet.waitUntilAll(timeout: 15) { s in
                        if phases.last != s.phase { phases.append(s.phase) }
                        lowest = s.phase == "Progressing" ? min(lowest, s.canaryWeight) : lowest
                        return s.phase == "Succeeded"
                    }
                    #expect(finished, "after the failover: \(done)\n\(fleet.logTails())")
                    #expect(!phases.contains("Initializing"), "phases seen after the failover: \(phases)")
                    #expect(lowest >= weightBefore, "a survivor's weight fell to \(lowest) after the failover (stored \(weightBefore))")
                    // /metrics says the same: the successor leads, every survivor saw the leader change and, by its
                    // next look at the replicas (a follower's every 2 s), two replicas left.
                    for r in fleet.running {
                        let metrics = try r.metrics()
                        let role = r === successor ? "leader" : "follower"
                        #expect(metrics.value("canarygate_cluster_role", ["role": role]) == 1, "\(r.name) is not \(role) in /metrics")
                        #expect((metrics.value("canarygate_cluster_leader_changes_total") ?? 0) >= 1, "\(r.name) saw no leader change")
                        #expect(
                            Posix.waitUntil(timeout: 3) { (try? r.metrics().value("canarygate_cluster_replicas")) == 2 },
                            "\(r.name) never saw two replicas: \((try? r.metrics().value("canarygate_cluster_replicas")) ?? nil)")
                    }
                    let after = try #require(fleet.storedRollout())
                    #expect(
                        after["rolloutNumber"] as? Int == numberBefore && after["canaryRevision"] as? String == "v2",
                        "stored before \(before), after \(after)")
                }
            }
        }

        @Test func verbsSentToAFollowerReachTheLeaderAndActOnEveryReplica() throws {
            let primary = try Self.primary(reporting: Guarded("v1"))
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            var spec = Self.healthySpec(primary: primary, canary: canary)
            spec.maxWeight = 75
            try withFleet(spec, replicas: 3) { fleet in
                let (leader, _) = try #require(fleet.waitForLeader(timeout: 5), "no leader\n\(fleet.logTails())")
                let followers = fleet.replicas.filter { $0 !== leader }
                try withFleetLoad(fleet) { _ in
                    let (mid, progressing) = fleet.waitUntilAll(timeout: 15) { $0.phase == "Progressing" && $0.canaryWeight >= 25 }
                    #expect(progressing, "never progressed: \(mid)\n\(fleet.logTails())")

                    // Pause on a follower: the leader pauses the fleet's rollout; no replica steps while it holds.
                    let pause = try followers[0].verb("pause")
                    #expect(pause.status == 200, "pause on follower \(followers[0].name): \(pause.status) \(pause.text)")
                    let (paused, allPaused) = fleet.waitUntilAll(timeout: 3) { $0.rollout.paused }
                    #expect(allPaused, "not paused everywhere: \(paused)")
                    #expect(
                        leader.proxy.logLines(containing: "pause forwarded by another replica: accepted").count == 1,
                        "the leader's events: \((try? leader.status())?.events ?? [])")
                    let pausedWeights = fleet.weights()
                    #expect(Set(pausedWeights.values).count == 1, "weights while paused: \(pausedWeights)")
                    #expect(
                        !Posix.waitUntil(timeout: 1.5) { fleet.weights() != pausedWeights },
                        "a weight moved while paused (3 intervals): \(pausedWeights) → \(fleet.weights())")

                    // Resume on the other follower.
                    let resume = try followers[1].verb("resume")
                    #expect(resume.status == 200, "resume on follower \(followers[1].name): \(resume.status) \(resume.text)")
                    let (resumed, allResumed) = fleet.waitUntilAll(timeout: 3) { !$0.rollout.paused && $0.phase == "Progressing" }
                    #expect(allResumed, "not resumed everywhere: \(resumed)")

                    // A verb the leader refuses is refused on the follower too, with the leader's reason.
                    let again = try followers[1].verb("resume")
                    #expect(
                        again.status == 409 && again.text.contains("not paused") && again.text.contains("answered by \(leader.name)"),
                        "resume when not paused: \(again.status) \(again.text)")

                    // Abort on a follower: rolled back on every replica.
                    let abort = try followers[0].verb("abort")
                    #expect(abort.status == 200, "abort on follower \(followers[0].name): \(abort.status) \(abort.text)")
                    let (aborted, rolledBack) = fleet.waitUntilAll(timeout: 5) { $0.phase == "Failed" && $0.canaryWeight == 0 }
                    #expect(rolledBack, "not rolled back everywhere: \(aborted)\n\(fleet.logTails())")
                }

                // A replica cut off from etcd cannot reach the leader: its verbs are 503, not acted on alone.
                fleet.etcd.stop()
                let (cut, degraded) = fleet.waitUntilAll(timeout: 8) { $0.role == "degraded" }
                #expect(degraded, "not degraded after etcd stopped: \(cut)")
                let refused = try followers[0].verb("retry")
                #expect(refused.status == 503, "retry on a degraded replica: \(refused.status) \(refused.text)")
            }
        }
    }
}
