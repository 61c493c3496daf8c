// A fleet replica's control tick: lead on the merged evidence, or follow the leader's state; guard locally either way.
import Analysis
import Cluster
import Config
import Foundation
import Proxy
import Rollout
import Telemetry

extension RolloutController {
    /// One control tick in fleet mode. Every replica guards its own canary share (a dead canary it sees
    /// is dropped to 0 here at once, and raised as an alarm in its record) and publishes its counters.
    /// The leader then runs the machines on every replica's counters summed; the others apply the state
    /// the leader wrote. A degraded replica (cut off from etcd) changes nothing but its own guard's drops.
    func fleetTick(now: UInt64) {
        guard let fleet else { return }
        let view = fleet.agent.view
        let local = state.metrics.snapshot()
        let urgent = guardLocally(fleet, local: local, now: now)
        publishRecord(fleet, local: local, urgent: urgent)
        // Leading goes by the lease's own clock: a slow agent cycle must not let this replica act as leader
        // after its lease could have passed to another. A term begins once the stored state and every record
        // have been read in it; while the records are read again (after an etcd blip) the leader only waits.
        if case .leader(let term) = view.role, now < view.leaderUntil ?? 0 {
            if fleet.ledTerm != nil && fleet.ledTerm != term { stepDown(fleet, role: view.role, view: view) }
            guard view.stateKnown, view.fleetKnown else { return }
            if fleet.ledTerm != term { takeOver(fleet, view: view, local: local, term: term, now: now) }
            lead(fleet, view: view, local: local, now: now)
        } else {
            if fleet.ledTerm != nil { stepDown(fleet, role: view.role, view: view) }
            // Hook and probe answers of a leadership that ended belong to no machine here.
            _ = inbox.takeAll()
            for (route, line) in inbox.takeHookOutputs() { record("\(route): \(line)") }
            if let stored = view.state, stored.modRevision != fleet.appliedRevision {
                follow(fleet, stored)
                fleet.appliedRevision = stored.modRevision
            }
        }
        releaseDrops(fleet)
    }

    /// Hands the agent this replica's record when anything in it but the time changed (an idle replica
    /// writes nothing); the agent sends it at the next publish interval, or at once when `urgent`.
    private func publishRecord(_ fleet: FleetLink, local: MetricsSnapshot, urgent: Bool) {
        let record = fleet.record(local: local)
        var unchanged = record
        unchanged.publishedAt = fleet.lastPublished?.publishedAt ?? 0
        guard urgent || unchanged != fleet.lastPublished else { return }
        fleet.lastPublished = record
        fleet.agent.publish(record: record.encode(), urgent: urgent)
    }

    /// The local dead-canary guard of every managed route whose canary takes traffic here; true when one fired.
    private func guardLocally(_ fleet: FleetLink, local: MetricsSnapshot, now: UInt64) -> Bool {
        var fired = false
        for name in rollouts.keys.sorted() {
            guard let r = rollouts[name] else { continue }
            let judging = fleet.drops[name] == nil && (r.weight.weight > 0 || r.weight.liveAtZero)
            let current = local.route(named: name) ?? RouteSnapshot(name: name)
            guard
                let alarm = fleet.guardTick(
                    route: name, revision: r.machine.state.canaryRevision, rolloutNumber: r.machine.state.rolloutNumber, current: current,
                    judging: judging, now: now)
            else { continue }
            fleet.drops[name] = alarm
            r.weight.set(0)
            r.weight.setLiveAtZero(false)
            record(
                "\(name): \(alarm.reason) on this replica; its canary share here dropped to 0 and the fleet alerted", route: name,
                severity: .error)
            fired = true
        }
        return fired
    }

    /// A drop holds until the fleet's rollout of that revision is no longer judged (rolled back, or another revision).
    private func releaseDrops(_ fleet: FleetLink) {
        for (name, alarm) in fleet.drops {
            let s = rollouts[name]?.machine.state
            if s == nil || s?.canaryRevision != alarm.revision || s?.rolloutNumber != alarm.rolloutNumber
                || !Self.judgingPhases.contains(s!.phase)
            {
                fleet.drops[name] = nil
            }
        }
    }

    static let judgingPhases: Set<Phase> = [.progressing, .waitingPromotion, .promoting, .promoted]

    // MARK: - leading

    /// The first tick of a term: the stored state is resumed exactly as a restarted proxy resumes its state
    /// file (the current stage's request re-issued, timers from now), on the fleet's counters from now on.
    private func takeOver(_ fleet: FleetLink, view: ClusterView, local: MetricsSnapshot, term: Int64, now: UInt64) {
        var restored: [String: RolloutState] = [:]
        var held: String?
        if let stored = view.state {
            do {
                restored = restoring(try JSONDecoder().decode(PersistedRollouts.self, from: Data(stored.value)), now: now)
            } catch {
                // As with an unreadable state file: it may have said the canary was rolled back, so hold for an operator.
                held = "the fleet's stored state (revision \(stored.modRevision)) cannot be read (\(error))"
                record("fleet: \(held!); every managed route is held at weight 0 for an operator")
            }
        }
        fleet.beginTerm(term)
        // Answers to hooks and probes of an earlier term of this process must not satisfy this term's machines.
        _ = inbox.takeAll()
        // The stored state may hold an undo's primary override: serve it from this term's first tick.
        overridesChanged = true
        rollouts = [:]
        // The term's first merge is its baseline; `lead` then finds it unchanged in this tick.
        _ = fleet.otherRecords(view.records)
        fleetEvidence = fleet.mergedEvidence(local: local)
        record(
            "fleet: \(fleet.agent.replica) leads (term \(term)); resuming \(restored.count) rollout(s) from the stored state"
                + (view.state.map { " (revision \($0.modRevision))" } ?? " (none stored yet)"))
        configure(state.snapshot, restored: restored, held: held, now: now)
    }

    /// The weights stay as this replica's machines last set them — not the state it last managed to write,
    /// which may predate a rollback it could not store — until a state newer than it knows arrives.
    private func stepDown(_ fleet: FleetLink, role: Membership.Role, view: ClusterView) {
        record("fleet: \(fleet.agent.replica) no longer leads (\(role.name)); keeping its weights until a newer state")
        fleet.ledTerm = nil
        fleet.appliedRevision = view.state?.modRevision
        fleetEvidence = nil
    }

    private func lead(_ fleet: FleetLink, view: ClusterView, local: MetricsSnapshot, now: UInt64) {
        let records = fleet.otherRecords(view.records)
        fleetEvidence = fleet.mergedEvidence(local: local)
        // Any replica's dead canary is the fleet's: the safe direction needs no majority. This replica's own
        // alarms are its drops (`publishRecord` has just put them in its record).
        let alarms = records.map { ($0.replica, $0.alarms) } + [(fleet.agent.replica, Array(fleet.drops.values))]
        for (replica, raised) in alarms {
            for alarm in raised {
                guard let r = rollouts[alarm.route], Self.judgingPhases.contains(r.machine.state.phase),
                    r.machine.state.canaryRevision == alarm.revision, r.machine.state.rolloutNumber == alarm.rolloutNumber
                else { continue }
                let verdict = Verdict(
                    judge: "dead-canary", outcome: .fail, summary: "replica \(replica): \(alarm.reason)",
                    evidence: [])
                deliver(alarm.route, .immediateFailure(verdict), now: now)
            }
        }
        answerForwardedVerbs(fleet, view: view, now: now)
        fleet.disagreements = ConfigFingerprint.disagreements(
            leader: (fleet.agent.replica, fleet.fingerprint.revisions), replicas: records.map { ($0.replica, $0.revisions) })
        var holding = Set(fleet.disagreements.map(\.route))
        // A leader cut off from etcd keeps its role until its lease is in doubt, but a step it took meanwhile could not
        // be stored: it would be this replica's alone. It steps nothing while etcd is in doubt; a failure still rolls back.
        if view.etcdInDoubt != nil { holding.formUnion(rollouts.keys) }
        if (view.etcdInDoubt != nil) != fleet.holdingForEtcd {
            fleet.holdingForEtcd = view.etcdInDoubt != nil
            record(
                view.etcdInDoubt.map { "fleet: etcd in doubt (\($0)); \(fleet.agent.replica) steps no rollout until it answers" }
                    ?? "fleet: etcd answers \(fleet.agent.replica) again")
        }
        tick(now: now, holding: holding)
    }

    private func answerForwardedVerbs(_ fleet: FleetLink, view: ClusterView, now: UInt64) {
        fleet.answered.formIntersection(view.commands.map(\.key))
        for c in view.commands where !fleet.answered.contains(c.key) {
            fleet.answered.insert(c.key)
            let refusal = ManualVerb(name: c.verb).map { command(route: c.route, verb: $0, now: now) } ?? "unknown verb \(c.verb)"
            let answer: [String: Any] = ["leader": fleet.agent.replica, "refusal": refusal ?? NSNull()]
            let bytes = (try? JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys])) ?? Data()
            record("\(c.route): \(c.verb) forwarded by another replica: \(refusal ?? "accepted")")
            fleet.agent.answer(c, with: [UInt8](bytes))
        }
    }

    // MARK: - following

    /// Mirrors the leader's state: each route's machine (for /status) and its weight. A canary this replica
    /// does not run at the fleet's revision (its config differs) or dropped itself gets nothing.
    private func follow(_ fleet: FleetLink, _ stored: StoredValue) {
        let document: PersistedRollouts
        do { document = try JSONDecoder().decode(PersistedRollouts.self, from: Data(stored.value)) } catch {
            record("fleet: the stored state (revision \(stored.modRevision)) cannot be read (\(error)); keeping the current weights")
            return
        }
        for s in document.routes {
            guard let old = rollouts[s.route] else { continue }
            var r = ManagedRollout(
                machine: RolloutMachine(route: s.route, restored: s), weight: old.weight, slowThreshold: old.slowThreshold,
                analysis: old.analysis, evidence: document.evidence?[s.route], watchBaseline: document.watchBaselines?[s.route]?.window)
            r.route = old.route
            let sameCanary = s.canaryRevision == nil || s.canaryRevision == old.route?.canary?.arm.revision
            let serve = sameCanary && fleet.drops[s.route] == nil
            r.weight.set(serve ? s.canaryWeight : 0)
            r.weight.setLiveAtZero(serve && s.isCanaryLiveAtZero)
            let before = old.machine.state
            if before.phase != s.phase || before.canaryWeight != s.canaryWeight || before.canaryRevision != s.canaryRevision {
                record(
                    "\(s.route): \(s.phase.rawValue) weight=\(r.weight.weight) (the fleet's state, revision \(stored.modRevision)"
                        + (sameCanary ? ")" : "; this replica's canary is not \(s.canaryRevision ?? "?"), so it gets nothing here)"))
            }
            if before.primaryOverride != s.primaryOverride { overridesChanged = true }
            rollouts[s.route] = r
            r.publishSlowThreshold()
        }
    }
}
