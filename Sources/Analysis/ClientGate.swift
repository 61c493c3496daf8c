// The evidence gate's client count for sticky routes: a step goes further only once enough distinct clients tried the canary.
import Config

/// With session affinity the canary is tried by clients, not by independent requests: one heavy client
/// pinned to the canary sends most of its requests, and its errors (its data, its browser, its bug) are
/// one event repeated, not many. The judges count requests, and `Dispersion` widens them for failures
/// that cluster in time; what they cannot see is that a step's thousands of requests came from three
/// clients. So, on a route with `sessionAffinity`, every interval also asks for `minClients` distinct
/// canary clients (estimated by `ClientSketch`, over its last one to two minutes) and holds the weight
/// until they are there (`progressDeadline` ends a rollout that never finds them: failing safe). With
/// `pace: evidence` the step does not advance before either.
public enum ClientGate {
    /// The interval's verdict (judge "clients"): pass at `minClients` or more, else hold.
    public static func verdict(canaryClients: Double, minClients: Int) -> Verdict {
        let clients = Int(canaryClients.rounded())
        let evidence: [Verdict.Evidence] = [.init("canary-clients", Double(clients)), .init("min-clients", Double(minClients))]
        if allows(canaryClients: canaryClients, minClients: minClients) {
            return Verdict(
                judge: "clients", outcome: .pass, summary: "\(clients) distinct canary clients (at least \(minClients))",
                evidence: evidence)
        }
        return Verdict(
            judge: "clients", outcome: .hold,
            summary: "not yet — \(clients) distinct canary clients of the \(minClients) a step needs; weight held", evidence: evidence)
    }

    /// Whether a sticky route judged by `analysis` asks for clients. Not in iterations mode (A/B, blue/green):
    /// its canary is held at weight 0 and reached by its cohort or by mirrored copies, never by clients drawn
    /// onto it, so the count stays 0 and the gate would hold every interval until `progressDeadline` failed a
    /// canary the other judges passed.
    public static func applies(to analysis: AnalysisConfig) -> Bool { !analysis.usesIterations }

    public static func allows(canaryClients: Double, minClients: Int) -> Bool {
        Int(canaryClients.rounded()) >= minClients
    }
}
