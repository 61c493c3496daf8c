// The JSON of GET /status: routes with their weights, revisions and endpoints.
import Analysis
import Config
import Foundation
import Rollout

enum StatusDocument {
    static func render(_ server: Server) -> String {
        let state = server.state
        let rollouts = Dictionary(server.rolloutStatuses.map { ($0.route, $0.state) }, uniquingKeysWith: { a, _ in a })
        let judges = Dictionary(server.rolloutJudges.map { ($0.route, $0.judges) }, uniquingKeysWith: { a, _ in a })
        let snapshot = state.snapshot
        let reloads = state.reloads
        let config = snapshot.config
        let sticky = Dictionary(AffinityMetrics.counts(server).map { ($0.route, $0.counts) }, uniquingKeysWith: { a, _ in a })
        let routes = zip(config.routes, snapshot.routes.byIndex).map { route, compiled -> String in
            var fields = [
                "\"name\":\(json(route.name))",
                "\"canaryWeight\":\(compiled.weight.weight)",
                "\"match\":{\"host\":\(route.match.host.map(json) ?? "null"),\"pathPrefix\":\(json(route.match.pathPrefix))}",
                "\"primary\":\(arm(route.primary))",
            ]
            fields.append("\"canary\":\(route.canary.map { arm($0.arm) } ?? "null")")
            fields.append("\"rollout\":\(rollouts[route.name].map { rollout($0, iterations: route.analysis?.iterations) } ?? "null")")
            fields.append("\"evidence\":\(judges[route.name].map(evidence) ?? "null")")
            fields.append("\"stickyClients\":\(sticky[route.name].map(AffinityMetrics.statusField) ?? "null")")
            return "{" + fields.joined(separator: ",") + "}"
        }
        let reload =
            "{\"generation\":\(snapshot.generation),\"successes\":\(reloads.successes),\"failures\":\(reloads.failures),"
            + "\"lastSuccessUnixTime\":\(Int(reloads.lastSuccessUnixTime)),\"lastError\":\(reloads.lastError.map(json) ?? "null")}"
        let events = "[" + server.rolloutEvents.suffix(20).map { json($0.line) }.joined(separator: ",") + "]"
        let cluster = server.clusterStatus.map { ",\"cluster\":" + $0.statusJSON() } ?? ""
        return "{\"routes\":[" + routes.joined(separator: ",") + "],\"config\":" + reload + ",\"events\":" + events + cluster + "}"
    }

    /// A rollout's phase, weight, counters and last verdicts with their evidence. `iterations`: the route's
    /// `analysis.iterations` (nil: canary steps, where `done` counts the passing intervals at maxWeight).
    private static func rollout(_ r: RolloutState, iterations: Int?) -> String {
        let verdicts = r.lastVerdicts.map { v in
            let evidence = v.evidence.map { "\(json($0.name)):\(number($0.value))" }.joined(separator: ",")
            return "{\"judge\":\(json(v.judge)),\"outcome\":\(json(v.outcome)),\"summary\":\(json(v.summary)),\"evidence\":{\(evidence)}}"
        }
        return "{\"phase\":\(json(r.phase.rawValue)),\"canaryWeight\":\(r.canaryWeight),\"failedChecks\":\(r.failedChecks),"
            + "\"iterations\":{\"done\":\(r.completedIterations),\"of\":\(iterations.map(String.init) ?? "null")},"
            + "\"canaryLiveAtZero\":\(r.isCanaryLiveAtZero),\"stepDown\":\(stepDown(r)),\"paused\":\(r.paused),"
            + "\"canaryRevision\":\(r.canaryRevision.map(json) ?? "null"),\"primaryRevision\":\(json(r.primaryRevision)),"
            + "\"lastAnalysedRevision\":\(r.lastAnalysedRevision.map(json) ?? "null"),\"message\":\(json(r.message)),"
            + "\"lastVerdicts\":[\(verdicts.joined(separator: ","))],\(AfterPromotionStatus.fields(r))}"
    }

    /// While a rollback steps the weight down (`stepWeightRollback`): why, and the weight it has reached.
    private static func stepDown(_ r: RolloutState) -> String {
        r.stepDownReason.map { "{\"reason\":\(json($0)),\"weight\":\(r.canaryWeight)}" } ?? "null"
    }

    /// The rollout's evidence so far: the sequential e-value against 1/α, each class's e-value and share
    /// of α, and the comparison's α not yet spent.
    private static func evidence(_ j: RolloutJudges) -> String {
        let s = j.evidence.sequential
        let classes = OutcomeClass.allCases.map { c -> String in
            let bet = s.bets[c.rawValue]
            return
                "\(json(c.label)):{\"eValue\":\(number(min(exp(s.logEValue(c)), 1e300))),\"alpha\":\(number(s.alpha * SequentialJudge.weights[c]!)),"
                + "\"canary\":\(bet.canaryBad),\"primary\":\(bet.primaryBad),\"episodes\":\(bet.episodes)}"
        }
        return "{\"revision\":\(j.evidence.revision.map(json) ?? "null"),\"eValue\":\(number(min(exp(s.logEValue), 1e300))),"
            + "\"eValueThreshold\":\(number(1 / s.alpha)),\"alpha\":\(number(s.alpha)),\"failed\":\(s.failed),"
            + "\"classes\":{\(classes.joined(separator: ","))},"
            + "\"comparisonIntervals\":\(j.evidence.comparedIntervals),\"comparisonAlphaRemaining\":\(number(j.comparisonAlphaRemaining))}"
    }

    /// JSON has no NaN or infinities; they become null.
    static func number(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    private static func arm(_ a: ArmConfig) -> String {
        "{\"revision\":\(json(a.revision)),\"endpoints\":[\(a.endpoints.map { json($0.description) }.joined(separator: ","))]}"
    }

    /// A JSON string literal, non-ASCII kept as UTF-8 (`JSONString`, which the notifications share).
    static func json(_ s: String) -> String { JSONString.quoted(s) }
}
