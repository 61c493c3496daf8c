// The JSON of GET /timeline: every route's samples and the event log, all or only what came after a time.
import Rollout

enum TimelineDocument {
    /// `GET /timeline` and `GET /timeline?since=T` (T: unix seconds, a decimal number).
    static func response(method: String, query: String, server: Server) -> AdminResponse {
        guard method == "GET" else { return AdminResponse(status: "405 Method Not Allowed", body: "method not allowed\n") }
        switch since(query: query) {
        case .failure(let reason): return AdminResponse(status: "400 Bad Request", body: reason.text + "\n")
        case .success(let since):
            return AdminResponse(status: "200 OK", contentType: "application/json", body: server.timelineJSON(since: since) + "\n")
        }
    }

    struct QueryError: Error, Equatable { var text: String }

    /// The `since` parameter of a query string; nil when absent.
    static func since(query: String) -> Result<Double?, QueryError> {
        for parameter in query.split(separator: "&") where parameter.hasPrefix("since=") {
            let value = parameter.dropFirst("since=".count)
            guard let t = Double(value), t.isFinite else {
                return .failure(QueryError(text: "since: expected unix seconds (a number), got \"\(value)\""))
            }
            return .success(t)
        }
        return .success(nil)
    }

    /// The document: `now`, each route's samples after `since` and the events after it (all when nil), by sequence.
    static func render(now: Double, routes: [(name: String, samples: [TimelineSample])], events: [EventRecord], since: Double?) -> String {
        let routeFields = routes.map { route in
            "{\"name\":\(StatusDocument.json(route.name)),\"samples\":[\(route.samples.map(sample).joined(separator: ","))]}"
        }
        // Compared as written (to the millisecond), so that every event returned has a `t` after `since`.
        let eventFields = events.filter { e in since.map { millisecond(e.unixTime) > $0 } ?? true }.sorted { $0.sequence < $1.sequence }
            .map(event)
        return
            "{\"now\":\(seconds(now)),\"routes\":[\(routeFields.joined(separator: ","))],\"events\":[\(eventFields.joined(separator: ","))]}"
    }

    private static func sample(_ s: TimelineSample) -> String {
        "{\"t\":\(seconds(s.t)),\"weight\":\(s.weight),\"primary\":\(arm(s.primary)),\"canary\":\(s.canary.map(arm) ?? "null")}"
    }

    private static func arm(_ a: TimelineArmSample) -> String {
        "{\"rps\":\(decimal(a.rps)),\"ok\":\(a.ok),\"4xx\":\(a.clientErrors),\"5xx\":\(a.serverErrors),\"failed\":\(a.failed),"
            + "\"abort\":\(a.abort),\"p50\":\(a.p50.map(decimal) ?? "null"),\"p99\":\(a.p99.map(decimal) ?? "null")}"
    }

    private static func event(_ e: EventRecord) -> String {
        "{\"seq\":\(e.sequence),\"t\":\(seconds(e.unixTime)),\"route\":\(e.route.map(StatusDocument.json) ?? "null"),"
            + "\"severity\":\(StatusDocument.json(e.severity.rawValue)),\"line\":\(StatusDocument.json(e.line))}"
    }

    /// A time to the millisecond.
    private static func seconds(_ t: Double) -> String { decimal(millisecond(t)) }

    private static func millisecond(_ t: Double) -> Double { (t * 1000).rounded() / 1000 }

    /// Always with a decimal point ("1765000000.0", "12.0"), so a reader never takes a time or a rate for an integer.
    private static func decimal(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        return x == x.rounded() && abs(x) < 1e15 ? "\(Int64(x)).0" : "\(x)"
    }
}

extension Server {
    /// The timeline document, also what the admin page's event stream sends; `samplesSince`, when given, cuts
    /// the samples there instead of at `since` (the stream's snapshot: all events, recent samples).
    func timelineJSON(since: Double?, samplesSince: Double? = nil) -> String {
        TimelineDocument.render(
            now: ServerState.unixTime(), routes: timeline.routes(since: samplesSince ?? since), events: rolloutEvents, since: since)
    }
}
