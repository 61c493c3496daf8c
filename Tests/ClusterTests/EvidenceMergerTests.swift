// The leader's merge of the replicas' counters: one test per rule, and a seeded fleet whose sum never goes back.
import Cluster
import Telemetry
import Simulation
import Testing

@Suite struct EvidenceMergerTests {
    /// A route whose primary answered `ok` requests with 200, `inFlight` of them still open.
    static func api(_ ok: UInt64, inFlight: Int64 = 0, name: String = "api") -> RouteSnapshot {
        RouteSnapshot(name: name, primary: ArmSnapshot(requestsByStatus: [200: ok], inFlight: inFlight))
    }

    static func evidence(_ replica: String, _ incarnation: String, _ routes: RouteSnapshot...) -> ReplicaEvidence {
        ReplicaEvidence(replica: replica, incarnation: incarnation, routes: routes)
    }

    @Test func liveReplicasAddCountersAndGauges() {
        var merger = EvidenceMerger()
        let merged = merger.merge([Self.evidence("a", "a1", Self.api(10, inFlight: 3)), Self.evidence("b", "b1", Self.api(5, inFlight: 1))])
        #expect(merged["api"]?.primary.requests(status: 200) == 15)
        #expect(merged["api"]?.primary.inFlight == 4)
        #expect(merged["api"]?.name == "api")
    }

    @Test func aRestartFoldsTheOldIncarnationIntoTheBase() {
        var merger = EvidenceMerger()
        _ = merger.merge([Self.evidence("a", "a1", Self.api(10)), Self.evidence("b", "b1", Self.api(5))])
        let merged = merger.merge([Self.evidence("a", "a2", Self.api(2)), Self.evidence("b", "b1", Self.api(6))])
        #expect(merged["api"]?.primary.requests(status: 200) == 10 + 2 + 6, "a's 10 before its restart still count")
        let later = merger.merge([Self.evidence("a", "a2", Self.api(4)), Self.evidence("b", "b1", Self.api(6))])
        #expect(later["api"]?.primary.requests(status: 200) == 10 + 4 + 6, "the old incarnation is counted once")
    }

    @Test func aDepartedReplicaKeepsItsCountersButNotItsGauges() {
        var merger = EvidenceMerger()
        _ = merger.merge([Self.evidence("a", "a1", Self.api(10, inFlight: 3)), Self.evidence("b", "b1", Self.api(5, inFlight: 1))])
        let merged = merger.merge([Self.evidence("b", "b1", Self.api(7, inFlight: 1))])
        #expect(merged["api"]?.primary.requests(status: 200) == 17)
        #expect(merged["api"]?.primary.inFlight == 1, "a's requests in flight are gone with it")
        #expect(merger.heldReplicas.present == ["b"] && merger.heldReplicas.away == ["a"])
    }

    @Test func aReplicaBackWithTheSameIncarnationResumesWithoutCountingTwice() {
        var merger = EvidenceMerger()
        _ = merger.merge([Self.evidence("a", "a1", Self.api(10)), Self.evidence("b", "b1", Self.api(5))])
        _ = merger.merge([Self.evidence("b", "b1", Self.api(6))])
        let merged = merger.merge([Self.evidence("a", "a1", Self.api(14, inFlight: 2)), Self.evidence("b", "b1", Self.api(6))])
        #expect(merged["api"]?.primary.requests(status: 200) == 14 + 6)
        #expect(merged["api"]?.primary.inFlight == 2)
    }

    @Test func aLongAbsenceFoldsTheReplicaAndItsReturnCountsOnlyWhatFollows() {
        var merger = EvidenceMerger(departedLooksKept: 2)
        _ = merger.merge([Self.evidence("a", "a1", Self.api(10)), Self.evidence("b", "b1", Self.api(5))])
        for _ in 0..<3 { _ = merger.merge([Self.evidence("b", "b1", Self.api(5))]) }
        #expect(merger.heldReplicas.away.isEmpty, "folded after two looks away")
        let back = merger.merge([Self.evidence("a", "a1", Self.api(15)), Self.evidence("b", "b1", Self.api(5))])
        #expect(back["api"]?.primary.requests(status: 200) == 15, "the 5 counted while away are lost, not counted twice")
        let later = merger.merge([Self.evidence("a", "a1", Self.api(18)), Self.evidence("b", "b1", Self.api(5))])
        #expect(later["api"]?.primary.requests(status: 200) == 18)
    }

    @Test func aNewIncarnationAfterALongAbsenceCountsFromItsFirstRecord() {
        var merger = EvidenceMerger(departedLooksKept: 1)
        _ = merger.merge([Self.evidence("a", "a1", Self.api(10))])
        for _ in 0..<2 { _ = merger.merge([]) }
        let merged = merger.merge([Self.evidence("a", "a2", Self.api(3))])
        #expect(merged["api"]?.primary.requests(status: 200) == 10, "what a2 counted before this merger saw it is not judged")
        let later = merger.merge([Self.evidence("a", "a2", Self.api(5))])
        #expect(later["api"]?.primary.requests(status: 200) == 12)
    }

    /// A new leader's merger: a replica that shows up after the first look (a partition healing) brings its
    /// whole history, which must not land on one tick.
    @Test func aReplicaFirstSeenLaterAddsOnlyWhatFollows() {
        var merger = EvidenceMerger()
        _ = merger.merge([Self.evidence("b", "b1", Self.api(5))])
        let healed = merger.merge([Self.evidence("a", "a1", Self.api(100_000)), Self.evidence("b", "b1", Self.api(6))])
        #expect(healed["api"]?.primary.requests(status: 200) == 6)
        let later = merger.merge([Self.evidence("a", "a1", Self.api(100_004)), Self.evidence("b", "b1", Self.api(6))])
        #expect(later["api"]?.primary.requests(status: 200) == 10)
    }

    @Test func aRouteAddedByAReloadCountsAsZeroWhereItIsAbsent() {
        var merger = EvidenceMerger()
        _ = merger.merge([Self.evidence("a", "a1", Self.api(10)), Self.evidence("b", "b1", Self.api(5))])
        let merged = merger.merge([
            Self.evidence("a", "a1", Self.api(11), Self.api(3, inFlight: 1, name: "web")), Self.evidence("b", "b1", Self.api(5)),
        ])
        #expect(merged["api"]?.primary.requests(status: 200) == 16)
        #expect(merged["web"] == Self.api(3, inFlight: 1, name: "web"))
    }

    @Test func aRouteNoLongerReportedKeepsItsCountersAndDropsItsGauges() {
        var merger = EvidenceMerger()
        _ = merger.merge([Self.evidence("a", "a1", Self.api(10, inFlight: 4), Self.api(2, inFlight: 1, name: "web"))])
        let merged = merger.merge([Self.evidence("a", "a1", Self.api(12, inFlight: 4))])
        #expect(merged["web"] == Self.api(2, name: "web"))
        #expect(merged["api"]?.primary.inFlight == 4)
    }

    @Test func aStaleRecordNeverTakesACounterBack() {
        var merger = EvidenceMerger()
        _ = merger.merge([Self.evidence("a", "a1", Self.api(10, inFlight: 3))])
        let stale = merger.merge([Self.evidence("a", "a1", Self.api(8, inFlight: 1))])
        #expect(stale["api"]?.primary.requests(status: 200) == 10)
        #expect(stale["api"]?.primary.inFlight == 1, "gauges are the latest record's")
        #expect(merger.merge([Self.evidence("a", "a1", Self.api(12))])["api"]?.primary.requests(status: 200) == 12)
    }

    /// Four replicas over 300 looks, restarting, leaving and coming back at random: the merged sum never
    /// decreases, always equals the sum of the last counters each incarnation published, and its gauges
    /// are those of the replicas in the look.
    @Test func aSeededFleetSumsEveryIncarnationOnceAndNeverGoesBack() {
        struct Process {
            var incarnation: Int
            /// A registry keeps a route's series for the life of the process, across reloads.
            var routes: [String: RouteSnapshot] = [:]
            var visible = true
        }
        var rng = Xoshiro256(seed: 0xF1EE7)
        var processes = (0..<4).map { Process(incarnation: $0) }
        var nextIncarnation = processes.count
        var published: [Int: [RouteSnapshot]] = [:]  // by incarnation: the last record the merger saw
        var merger = EvidenceMerger()
        var previous: [String: RouteSnapshot] = [:]
        for _ in 0..<300 {
            for index in processes.indices {
                switch UInt8.random(in: 0..<20, using: &rng) {
                case 0:
                    processes[index] = Process(incarnation: nextIncarnation)
                    nextIncarnation += 1
                case 1: processes[index].visible.toggle()
                default: break
                }
                // A route appears on a process at a random look, as a reload would add it.
                for name in ["api", "web"] where processes[index].routes[name] != nil || UInt8.random(in: 0..<4, using: &rng) == 0 {
                    var route = processes[index].routes[name] ?? RouteSnapshot(name: name)
                    route.canary.requestsByStatus[500, default: 0] += UInt64.random(in: 0...9, using: &rng)
                    route.canary.histogram.record(nanoseconds: UInt64.random(in: 1_000...9_000_000, using: &rng))
                    route.primary.inFlight = Int64.random(in: 0...5, using: &rng)
                    processes[index].routes[name] = route
                }
            }
            let visible = processes.enumerated().filter { $0.element.visible }
            for (_, process) in visible { published[process.incarnation] = Array(process.routes.values) }
            let merged = merger.merge(
                visible.map { index, process in
                    ReplicaEvidence(replica: "r\(index)", incarnation: "i\(process.incarnation)", routes: Array(process.routes.values))
                })
            for (name, route) in merged {
                let before = previous[name] ?? RouteSnapshot(name: name)
                #expect(route.canary.requests(status: 500) >= before.canary.requests(status: 500))
                #expect(route.canary.histogram.count >= before.canary.histogram.count)
                let everyRecord = published.values.joined().filter { $0.name == name }
                #expect(route.canary.requests(status: 500) == everyRecord.reduce(0) { $0 + $1.canary.requests(status: 500) })
                let inFlight = visible.compactMap { $0.element.routes[name]?.primary.inFlight }.reduce(0, +)
                #expect(route.primary.inFlight == inFlight)
            }
            previous = merged
        }
    }
}
