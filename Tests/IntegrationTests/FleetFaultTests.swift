// Fleet mode under faults: etcd down and back, a replica restarted or cut off, replicas that disagree, a dead canary on one.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    /// Three replicas and a real etcd (see FleetHarness.swift). Each test prints the times it measured.
    @Suite("Fleet faults", .serialized)
    struct FleetFaults {
        /// The route `web` stepping 5 points every `interval`: slow enough that a fault lands mid-rollout and a
        /// step (or its absence) is seen within a few seconds. The judges pass on healthy loopback arms.
        static func spec(primary: TestUpstream, canary: TestUpstream, interval: String = "500ms") -> RolloutSpec {
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.ignoreLoopbackLatencyJitter()
            spec.interval = interval
            spec.stepWeight = 5
            spec.maxWeight = 50
            spec.progressDeadline = "30s"
            return spec
        }

        /// A canary of one replica's own, answering "v2" until `failing` is set, then 500 to everything: the dead
        /// canary only that replica sees.
        static func ownCanary(failing: Guarded<Bool>) throws -> TestUpstream {
            try TestUpstream(name: "own-canary") { _ in failing.value ? .text("v2 failed", status: 500) : .text("v2") }
        }

        static let leaseTTL = 2.0

        @Test func etcdKilledMidRolloutDegradesEveryReplicaThatHoldsItsWeightAndTheRolloutResumesAfterTheRestart() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            try withFleet(Self.spec(primary: primary, canary: canary)) { fleet in
                try withFleetLoad(fleet) { _ in
                    // Right after a step every replica applied: the next one is an interval away, so none lands while etcd dies.
                    let before = try #require(
                        fleet.waitForFreshStep(timeout: 10, atLeast: 15),
                        "the rollout never stepped to 15% on every replica\n\(fleet.logTails())")
                    let held = Dictionary(uniqueKeysWithValues: before.map { ($0.replica, $0.canaryWeight) })
                    let killedAt = Date()
                    fleet.etcd.kill()

                    let (degraded, allDegraded) = fleet.waitUntilAll(timeout: Self.leaseTTL + 1.5) { $0.role == "degraded" }
                    let degradedAfter = Date().timeIntervalSince(killedAt)
                    #expect(allDegraded, "not every replica degraded \(degradedAfter) s after etcd died: \(degraded)\n\(fleet.logTails())")
                    for s in degraded {
                        #expect(s.reason?.isEmpty == false, "\(s.replica) degraded without a reason: \(s)")
                        #expect(s.canaryWeight == held[s.replica], "\(s.replica) changed its weight when etcd died: \(s), held \(held)")
                    }
                    for r in fleet.running {
                        let metrics = try r.metrics()
                        #expect(
                            metrics.value("canarygate_cluster_role", ["role": "degraded"]) == 1,
                            "\(r.name): \(metrics.samples("canarygate_cluster_role"))")
                        #expect(metrics.value("canarygate_cluster_role", ["role": "leader"]) == 0, "\(r.name) still says it leads")
                    }
                    // Three intervals pass with etcd down: nobody steps.
                    let holdUntil = Date().addingTimeInterval(1.6)
                    while Date() < holdUntil {
                        // Every replica answers (a silent one must not pass for one that held).
                        for s in try fleet.running.map({ try $0.status() }) {
                            #expect(s.canaryWeight == held[s.replica] && s.role == "degraded", "while etcd is down: \(s), held \(held)")
                        }
                        usleep(100_000)
                    }

                    let restartedAt = Date()
                    try fleet.etcd.restart()
                    let (leader, leadAfter) = try #require(
                        fleet.waitForLeader(timeout: Self.leaseTTL + 4, since: restartedAt),
                        "no leader after etcd came back\n\(fleet.logTails())")
                    let heldWeight = held.values.max()!
                    let (after, resumed) = fleet.waitUntilAll(timeout: 5) { $0.canaryWeight > heldWeight && $0.role != "degraded" }
                    let resumedAfter = Date().timeIntervalSince(restartedAt)
                    #expect(resumed, "the rollout did not go on past \(heldWeight)% after etcd came back: \(after)\n\(fleet.logTails())")
                    print(
                        "fleet faults: etcd killed at \(heldWeight)%: every replica degraded after \(Self.seconds(degradedAfter)) s;"
                            + " after the restart \(leader.name) led after \(Self.seconds(leadAfter)) s, every replica past"
                            + " \(heldWeight)% after \(Self.seconds(resumedAfter)) s")
                }
            }
        }

        @Test func aReplicaKilledAndRestartedRejoinsAsFollowerAppliesTheWeightAndTheLeadersEvidenceNeverGoesBack() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            try withFleet(Self.spec(primary: primary, canary: canary)) { fleet in
                try withFleetLoad(fleet) { load in
                    _ = try #require(
                        fleet.waitForAgreement(timeout: 10) { $0.canaryWeight >= 10 && $0.phase == "Progressing" },
                        "the rollout never reached 10% on every replica\n\(fleet.logTails())")
                    let leader = try #require(fleet.leader(), "no single leader: \(fleet.statuses())")
                    let restarted = try #require(fleet.running.first { $0.name != leader.name })
                    // The canary requests the leader's sequential judge has counted, on every replica's evidence merged.
                    var judged: [Double] = []
                    func sampleJudged() {
                        if let n = (try? leader.status()).flatMap(Self.judgedCanaryRequests) { judged.append(n) }
                    }
                    sampleJudged()
                    let canaryBefore = try restarted.canaryRequests()
                    #expect(restarted.kill9() == 128 + SIGKILL)
                    let restartedAt = Date()
                    try restarted.restart()
                    let atRestart = judged.last ?? 0

                    var rejoinedAfter: Double?
                    var appliedAfter: Double?
                    var last: (restarted: ReplicaStatus?, leader: ReplicaStatus?) = (nil, nil)
                    let deadline = restartedAt.addingTimeInterval(5)
                    while appliedAfter == nil && Date() < deadline {
                        last = (try? restarted.status(), try? leader.status())
                        if let n = last.leader.flatMap(Self.judgedCanaryRequests) { judged.append(n) }
                        if let mine = last.restarted, let theirs = last.leader {
                            if rejoinedAfter == nil && mine.role == "follower" { rejoinedAfter = Date().timeIntervalSince(restartedAt) }
                            if mine.role == "follower" && mine.stateRevision == theirs.stateRevision
                                && mine.canaryWeight == theirs.rollout.weight && mine.phase == theirs.phase
                            {
                                appliedAfter = Date().timeIntervalSince(restartedAt)
                            }
                        }
                        usleep(20_000)
                    }
                    #expect(rejoinedAfter != nil, "\(restarted.name) did not rejoin as a follower: \(last)\n\(fleet.logTails())")
                    #expect(appliedAfter != nil, "\(restarted.name) did not apply the fleet's state: \(last)\n\(fleet.logTails())")
                    #expect((try? leader.status().role) == "leader", "the restart of a follower changed the leader: \(fleet.statuses())")

                    // The evidence goes on growing past the restart.
                    let grown = Posix.waitUntil(timeout: 3) {
                        sampleJudged()
                        return (judged.last ?? 0) > atRestart
                    }
                    #expect(grown, "the leader's judged canary requests stayed at \(atRestart) after the restart: \(judged)")
                    #expect(
                        zip(judged, judged.dropFirst()).allSatisfy { $0 <= $1 }, "the leader's judged canary requests went back: \(judged)")
                    // Counted once: never more than the canary answers the clients got (a few in flight at the kill aside).
                    let answered = load.count(body: "v2")
                    #expect(Int(judged.last ?? 0) <= answered + 3, "judged \(judged.last ?? 0) canary requests, clients got \(answered)")
                    print(
                        "fleet faults: \(restarted.name) (\(canaryBefore) canary requests) killed -9 and restarted: follower after"
                            + " \(rejoinedAfter.map(Self.seconds) ?? "-") s, the fleet's state applied after \(appliedAfter.map(Self.seconds) ?? "-") s;"
                            + " the leader's judged canary requests \(Int(atRestart)) at the restart, \(Int(judged.last ?? 0)) after"
                            + " (\(judged.count) samples, clients got \(answered))")
                }
            }
        }

        /// The alarms in `replica`'s record as the leader last received it (its /status `cluster.replicas[].alarms`).
        static func alarms(of replica: String, at leader: FleetReplica) throws -> [String]? {
            let replicas = (try leader.status().json["cluster"] as? [String: Any])?["replicas"] as? [[String: Any]] ?? []
            return replicas.first { $0["name"] as? String == replica }?["alarms"] as? [String]
        }

        /// `canary-requests` of the leader's last sequential verdict: every canary request it has judged in this rollout.
        static func judgedCanaryRequests(_ s: ReplicaStatus) -> Double? {
            s.rollout.verdicts.first { $0.judge == "sequential" }?.evidence["canary-requests"]
        }

        @Test func aReplicaCutFromEtcdHoldsItsWeightDropsADeadCanaryItselfAndFollowsTheFleetWhenHealed() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            let failing = Guarded(false)
            let ownCanary = try Self.ownCanary(failing: failing)
            let relayMade = Guarded<TCPRelay?>(nil)
            defer {
                relayMade.value?.stop()
                primary.stop(); canary.stop(); ownCanary.stop()
            }
            // Replica a talks to etcd through the relay, and to a canary of its own.
            let spec = Self.spec(primary: primary, canary: canary, interval: "1s")
            try withFleet(
                spec,
                customize: { index, spec in
                    guard index == 0 else { return }
                    Self.throughRelay(&spec, relayMade)
                    spec.canary = ArmSpec("v2", ownCanary)
                }
            ) { fleet in
                let relay = try #require(relayMade.value, "the relay did not start")
                let cut = try #require(fleet.replica("a"))
                let others = fleet.replicas.filter { $0.name != "a" }
                try withFleetLoad(fleet) { _ in
                    // Cut right after a step: the next one is an interval away, and a has seen etcd fail long before it.
                    let before = try #require(
                        fleet.waitForFreshStep(timeout: 10, atLeast: 10),
                        "the rollout never stepped to 10% on every replica\n\(fleet.logTails())")
                    let held = before.first { $0.replica == "a" }!.canaryWeight
                    let cutLed = fleet.leader()?.name == "a"
                    let cutAt = Date()
                    try relay.cut()

                    let degradedIn = Posix.waitUntil(timeout: Self.leaseTTL + 1.5) { (try? cut.status().role) == "degraded" }
                    let degradedAfter = Date().timeIntervalSince(cutAt)
                    let cutStatus = try cut.status()
                    #expect(
                        degradedIn && cutStatus.reason?.isEmpty == false, "a not degraded \(degradedAfter) s after the cut: \(cutStatus)")
                    #expect(
                        cutStatus.canaryWeight == held,
                        "a changed its weight when cut: \(cutStatus), held \(held), events \(cutStatus.events)")
                    #expect(try cut.metrics().value("canarygate_cluster_role", ["role": "degraded"]) == 1)
                    var takeover: Double?
                    if cutLed {
                        let next = fleet.waitForLeader(timeout: 5, since: cutAt, excluding: ["a"])
                        takeover = next?.seconds
                        #expect(next != nil, "no other replica led within 5 s of the leader's cut\n\(fleet.logTails())")
                    }

                    // The others go on; a holds.
                    var othersWent = false
                    let goOnDeadline = Date().addingTimeInterval(8)
                    while !othersWent && Date() < goOnDeadline {
                        let mine = try cut.status()
                        #expect(mine.role == "degraded" && mine.canaryWeight == held, "a while cut: \(mine), held \(held)")
                        othersWent = others.allSatisfy { (try? $0.status().canaryWeight).map { $0 > held } ?? false }
                        usleep(50_000)
                    }
                    #expect(othersWent, "the others did not step past \(held)% while a was cut: \(fleet.statuses())\n\(fleet.logTails())")

                    // a's own canary dies: a drops it to 0 itself, the others (who cannot hear a) go on.
                    let failedAt = Date()
                    failing.withValue { $0 = true }
                    let dropped = Posix.waitUntil(timeout: 4) { (try? cut.status().canaryWeight) == 0 }
                    let droppedAfter = Date().timeIntervalSince(failedAt)
                    let afterDrop = try fleet.running.map { try $0.status() }
                    #expect(dropped, "a did not drop its dead canary while cut: \(afterDrop)\n\(fleet.logTails())")
                    for s in afterDrop where s.replica != "a" {
                        #expect(
                            s.canaryWeight > 0 && s.phase == "Progressing", "\(s.replica) heard of a's dead canary while a was cut: \(s)")
                    }

                    // Healed: a follows again, and its alarm reaches the leader, which rolls the fleet back.
                    failing.withValue { $0 = false }
                    let healedAt = Date()
                    try relay.heal()
                    let rejoined = Posix.waitUntil(timeout: 4) { (try? cut.status().role) == "follower" }
                    let rejoinedAfter = Date().timeIntervalSince(healedAt)
                    #expect(rejoined, "a did not rejoin as a follower after the heal: \((try? cut.status()).map(\.description) ?? "-")")
                    let (back, rolledBack) = fleet.waitUntilAll(timeout: 4) { $0.phase == "Failed" && $0.canaryWeight == 0 }
                    #expect(rolledBack, "the fleet did not roll back on a's alarm: \(back)\n\(fleet.logTails())")
                    let leader = try #require(fleet.leader(), "no single leader after the heal: \(fleet.statuses())")
                    let leaderStatus = try leader.status()
                    #expect(
                        leaderStatus.rollout.message.contains("replica a") || leaderStatus.events.contains { $0.contains("replica a") },
                        "the rollback does not name replica a: \(leaderStatus)")
                    // A retried rollout applies on a again: its drop ended with the rollout it was about. The retry waits until
                    // the leader has a's record without the alarm, which names a revision, not a rollout: the retried one would
                    // fall to it too.
                    let alarmCleared = Posix.waitUntil(timeout: 2) { (try? Self.alarms(of: "a", at: leader))?.isEmpty == true }
                    #expect(alarmCleared, "a's alarm stayed in its record: \((try? Self.alarms(of: "a", at: leader)) ?? [])")
                    let retry = try leader.verb("retry")
                    #expect(retry.status == 200, "retry: \(retry.status) \(retry.text)")
                    let (again, applied) = fleet.waitUntilAll(timeout: 5) { $0.phase == "Progressing" && $0.canaryWeight > 0 }
                    #expect(
                        applied,
                        "the retried rollout (\(retry.text)) did not apply on every replica: \(again)\nleader's events: \((try? leader.status().events) ?? [])\n\(fleet.logTails())"
                    )
                    print(
                        "fleet faults: a (\(cutLed ? "the leader" : "a follower")) cut at \(held)%: degraded after \(Self.seconds(degradedAfter)) s"
                            + (takeover.map { ", another led after \(Self.seconds($0)) s" } ?? "")
                            + "; its dead canary dropped after \(Self.seconds(droppedAfter)) s; healed: follower after"
                            + " \(Self.seconds(rejoinedAfter)) s, relay connections \(relay.connections)")
                }
            }
        }

        /// A silent partition (the relay blackholes a, the leader): every request a sends waits out its deadline, yet a
        /// must stop leading by its own (two thirds of the TTL after its last keep-alive), before etcd can hand the
        /// leader key to another replica: never two leaders at once. Meanwhile (1.3 to 2 s with a 3 s TTL, past the next
        /// step 1 s away) it steps nothing: etcd is in doubt. Healed, a's silent watches are replaced and it follows.
        @Test func aBlackholedLeaderStopsLeadingBeforeAnotherLeadsAndFollowsWhenHealed() throws {
            let ttl = 3.0
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            let relayMade = Guarded<TCPRelay?>(nil)
            defer {
                relayMade.value?.stop()
                primary.stop(); canary.stop()
            }
            let spec = Self.spec(primary: primary, canary: canary, interval: "1s")
            var cluster = ClusterSpec()
            cluster.leaseTTL = "3s"
            try withFleet(spec, cluster: cluster, customize: { index, spec in if index == 0 { Self.throughRelay(&spec, relayMade) } }) {
                fleet in
                let relay = try #require(relayMade.value, "the relay did not start")
                let silent = try #require(fleet.replica("a"))
                try withFleetLoad(fleet) { _ in
                    let before = try #require(
                        fleet.waitForFreshStep(timeout: 10, atLeast: 10), "the rollout never stepped to 10%\n\(fleet.logTails())")
                    let held = before.first { $0.replica == "a" }!.canaryWeight
                    try #require(fleet.leader()?.name == "a", "a (started first) does not lead: \(fleet.statuses())")
                    let blackholedAt = Date()
                    try relay.blackhole()
                    var lastLedAt = 0.0
                    var degradedAt: Double?
                    var successor: (name: String, at: Double)?
                    var weightsSeen = Set<Int>()
                    while Date().timeIntervalSince(blackholedAt) < ttl + 4 && (successor == nil || degradedAt == nil) {
                        for s in fleet.statuses() {
                            let t = Date().timeIntervalSince(blackholedAt)
                            if s.replica == "a" {
                                if s.role == "leader" { lastLedAt = t }
                                if s.role == "degraded" && degradedAt == nil { degradedAt = t }
                                weightsSeen.insert(s.canaryWeight)
                            } else if s.role == "leader" && successor == nil {
                                successor = (s.replica, t)
                            }
                        }
                        usleep(20_000)
                    }
                    // Its own deadline: two thirds of the TTL after its last keep-alive, sent before the partition.
                    #expect(
                        lastLedAt < ttl * 2 / 3 + 0.1,
                        "a still led \(lastLedAt) s into the partition, past its deadline\n\(fleet.logTails())")
                    #expect(degradedAt != nil, "a never said it was degraded\n\(fleet.logTails())")
                    let next = try #require(successor, "no other replica led within \(ttl + 4) s\n\(fleet.logTails())")
                    #expect(next.at < 5, "\(next.name) led only \(next.at) s after a was blackholed")
                    #expect(lastLedAt < next.at, "two leaders: a led until \(lastLedAt) s, \(next.name) from \(next.at) s")
                    #expect(weightsSeen == [held], "a stepped alone while blackholed: \(weightsSeen.sorted()), held \(held)")

                    let healedAt = Date()
                    try relay.heal()
                    let followed = Posix.waitUntil(timeout: 4) {
                        guard let mine = try? silent.status(), let theirs = try? fleet.replica(next.name)?.status() else { return false }
                        return mine.role == "follower" && mine.stateRevision == theirs.stateRevision
                            && mine.canaryWeight == theirs.canaryWeight
                    }
                    let followedAfter = Date().timeIntervalSince(healedAt)
                    let doubt = (try? silent.status().events.first { $0.contains("etcd in doubt") }) ?? nil
                    #expect(followed, "a did not follow \(next.name)'s state after the heal: \(fleet.statuses())\n\(fleet.logTails())")
                    print(
                        "fleet faults: a (the leader) blackholed: led until \(Self.seconds(lastLedAt)) s, degraded at"
                            + " \(degradedAt.map(Self.seconds) ?? "-") s, \(next.name) led at \(Self.seconds(next.at)) s;"
                            + " a's weights meanwhile \(weightsSeen.sorted()) (\(doubt ?? "no doubt event")); healed: following after"
                            + " \(Self.seconds(followedAfter)) s")
                }
            }
        }

        /// Points the replica's etcd at a new relay to etcd (kept in `made` for the test to cut and stop).
        static func throughRelay(_ spec: inout RolloutSpec, _ made: Guarded<TCPRelay?>) {
            guard let url = spec.cluster?.etcd.first, let port = url.split(separator: ":").last.flatMap({ UInt16($0) }),
                let relay = try? TCPRelay(to: port)
            else { return }
            made.withValue { $0 = relay }
            spec.cluster?.etcd = [relay.url]
        }

        @Test func replicasThatDisagreeOnTheCanaryRevisionHoldTheRolloutUntilAReloadMakesThemAgree() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            let spec = Self.spec(primary: primary, canary: canary)
            try withFleet(spec, customize: { index, spec in if index == 2 { spec.canary.revision = "v3" } }) { fleet in
                let odd = try #require(fleet.replica("c"))
                let (leader, _) = try #require(fleet.waitForLeader(timeout: 5), "no leader\n\(fleet.logTails())")
                try #require(leader.name != "c", "c (the odd one) leads: the fleet rolls out its v3")
                try withFleetLoad(fleet) { _ in
                    var held: ReplicaStatus?
                    let said = Posix.waitUntil(timeout: 5) {
                        held = try? leader.status()
                        return held?.disagreement.isEmpty == false
                    }
                    let disagreement = held?.disagreement ?? []
                    #expect(said, "the leader never named a disagreement: \(held.map(\.description) ?? "-")\n\(fleet.logTails())")
                    #expect(
                        disagreement.count == 1 && disagreement[0].hasPrefix("web:") && disagreement[0].contains("c primary v1 canary v3")
                            && disagreement[0].contains("\(leader.name) primary v1 canary v2"),
                        "disagreement: \(disagreement)")
                    #expect(try leader.metrics().value("canarygate_cluster_disagreements") == 1)
                    // Three intervals: no step anywhere, and c's canary (another revision than the fleet's) gets nothing.
                    // From when every replica shows the same state (c may still be applying the one from before it joined).
                    let shown = try #require(fleet.agreedStatuses(), "the replicas never showed one state: \(fleet.statuses())")
                    let weight = shown.first { $0.replica == leader.name }!.rollout.weight
                    let holdUntil = Date().addingTimeInterval(1.6)
                    while Date() < holdUntil {
                        for s in try fleet.running.map({ try $0.status() }) {
                            #expect(s.rollout.weight == weight, "\(s.replica) stepped while the replicas disagree: \(s)")
                            if s.replica == "c" { #expect(s.canaryWeight == 0, "c's canary v3 got a share: \(s)") }
                        }
                        usleep(100_000)
                    }

                    var agreeing = spec
                    agreeing.canary.revision = "v2"
                    let reloadedAt = Date()
                    try odd.reloadBySignal(agreeing)
                    let resolved = Posix.waitUntil(timeout: 3) { (try? leader.status().disagreement.isEmpty) == true }
                    #expect(resolved, "the disagreement stayed after c's reload: \((try? leader.status()).map(\.description) ?? "-")")
                    #expect(try leader.metrics().value("canarygate_cluster_disagreements") == 0)
                    let (after, went) = fleet.waitUntilAll(timeout: 4) { $0.rollout.weight > weight && $0.canaryWeight > weight }
                    #expect(went, "the rollout did not go on past \(weight)% after the reload: \(after)\n\(fleet.logTails())")
                    print(
                        "fleet faults: held at \(weight)% while c ran v3 (\(disagreement[0])); after c's SIGHUP every replica past"
                            + " \(weight)% in \(Self.seconds(Date().timeIntervalSince(reloadedAt))) s")
                }
            }
        }

        @Test func aDeadCanaryOnOneReplicaTakesEveryReplicasWeightToZeroAndRollsTheFleetBack() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            let failing = Guarded(false)
            let ownCanary = try Self.ownCanary(failing: failing)
            defer { primary.stop(); canary.stop(); ownCanary.stop() }
            // Only c's alarm may roll back in time: the leader's judges, which would see a third of the canary's requests
            // fail in the merged evidence, need ten failed intervals, and the sequential judge (which fails at once) is off.
            var spec = Self.spec(primary: primary, canary: canary)
            spec.threshold = 10
            spec.durationMax = nil
            spec.extraAnalysis = ["comparison: { enabled: false }", "sequential: { enabled: false }"]
            try withFleet(spec, customize: { index, spec in if index == 2 { spec.canary = ArmSpec("v2", ownCanary) } }) { fleet in
                try withFleetLoad(fleet) { _ in
                    _ = try #require(
                        fleet.waitForAgreement(timeout: 10) { $0.canaryWeight >= 20 && $0.phase == "Progressing" },
                        "the rollout never reached 20% on every replica\n\(fleet.logTails())")
                    let failedAt = Date()
                    failing.withValue { $0 = true }
                    var zeroAfter: Double?
                    var last: [ReplicaStatus] = []
                    while zeroAfter == nil && Date().timeIntervalSince(failedAt) < 5 {
                        last = fleet.statuses()
                        if last.count == 3 && last.allSatisfy({ $0.canaryWeight == 0 }) { zeroAfter = Date().timeIntervalSince(failedAt) }
                        usleep(5_000)
                    }
                    #expect(zeroAfter != nil, "not every replica's weight reached 0: \(last)\n\(fleet.logTails())")
                    let (back, rolledBack) = fleet.waitUntilAll(timeout: 3) { $0.phase == "Failed" && $0.canaryWeight == 0 }
                    #expect(rolledBack, "the fleet's rollout was not rolled back: \(back)\n\(fleet.logTails())")
                    let leader = try #require(fleet.leader())
                    let message = try leader.status().rollout.message
                    #expect(message.contains("replica c"), "the rollback does not name replica c: \(message)")
                    print(
                        "fleet faults: c's canary died at 20%+: weight 0 on every replica after \(zeroAfter.map(Self.seconds) ?? "-") s"
                            + " (target about 1 s + one 100 ms tick); leader \(leader.name): \(message)")
                }
            }
        }

        /// The relay itself (no etcd): it forwards, a cut resets open connections and refuses new ones, a blackhole
        /// keeps them open and silent, and a heal forwards again on the same port.
        @Test func theRelayForwardsCutsBlackholesAndHeals() throws {
            let upstream = try TestUpstream { request in .text("path=\(request.target)") }
            let relay = try TCPRelay(to: upstream.port)
            defer { relay.stop(); upstream.stop() }
            let client = try RawClient(port: relay.port, timeout: 0.5)
            #expect(try client.get("/one").text == "path=/one")

            try relay.cut()
            let cutAt = Date()
            #expect(throws: (any Error).self) { try client.get("/two") }
            #expect(Date().timeIntervalSince(cutAt) < 0.3, "the open connection was not reset at once")
            #expect(Posix.connectRefused(port: relay.port), "a new connection was not refused while cut")

            try relay.heal()
            let healed = try RawClient(port: relay.port, timeout: 0.5)
            #expect(try healed.get("/three").text == "path=/three")

            try relay.blackhole()
            #expect(throws: SocketError.timedOut("read response head")) { try healed.get("/four") }
            #expect(relay.connections.open == 1, "the blackhole closed a connection: \(relay.connections)")
            try relay.heal()
            #expect(try RawClient(port: relay.port, timeout: 0.5).get("/five").text == "path=/five")
        }

        static func seconds(_ x: Double) -> String { String(format: "%.2f", x) }
    }
}

extension Fleet {
    /// Polls every 20 ms until the fleet steps (a weight above one seen before, at least `atLeast`) and every replica
    /// applies it; the statuses right then, when the next step is nearly an analysis interval away. Nil if not in time.
    func waitForFreshStep(timeout: Double, atLeast: Int) -> [ReplicaStatus]? {
        let deadline = Date().addingTimeInterval(timeout)
        var highest: Int?
        var stepped: Int?
        while Date() < deadline {
            let all = statuses()
            let top = all.map(\.canaryWeight).max() ?? 0
            if let earlier = highest, top > earlier, top >= atLeast { stepped = top }
            highest = max(highest ?? top, top)
            if let weight = stepped, all.count == running.count, all.allSatisfy({ $0.canaryWeight == weight && $0.phase == "Progressing" })
            {
                return all
            }
            usleep(20_000)
        }
        return nil
    }

    /// Polls until every running replica shows the same state revision, twice 150 ms apart, and `predicate` holds
    /// for each; those statuses, or nil when that did not happen within `timeout`.
    func waitForAgreement(timeout: Double, _ predicate: (ReplicaStatus) -> Bool) -> [ReplicaStatus]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let agreed = agreedStatuses(timeout: max(0.2, deadline.timeIntervalSinceNow)), agreed.allSatisfy(predicate) {
                return agreed
            }
            usleep(20_000)
        }
        return nil
    }
}

extension FleetReplica {
    /// Rewrites this replica's config from `spec` (its cluster section kept) and sends SIGHUP; waits (bounded) until
    /// /status shows the reload done.
    func reloadBySignal(_ spec: RolloutSpec, timeout: Double = 3) throws {
        var spec = spec
        spec.cluster = cluster
        let generation = { (try? self.proxy.statusJSON()["config"] as? [String: Any])?.flatMap { $0["generation"] as? Int } ?? -1 }
        let before = generation()
        try spec.yaml(listenPort: port, adminPort: adminPort).write(to: proxy.configFile, atomically: true, encoding: .utf8)
        kill(proxy.child.pid, SIGHUP)
        #expect(Posix.waitUntil(timeout: timeout) { generation() > before }, "\(name) did not reload on SIGHUP:\n\(log.suffix(2000))")
    }
}
