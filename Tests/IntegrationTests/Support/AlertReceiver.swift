// A notification receiver for the tests: records each POSTed JSON body by path, answers per a script, or hangs.
import Foundation

/// One `TestUpstream` serving every alert of a test on its own path (`/slack`, `/teams`, …). A path answers the
/// statuses `script(path, [500, 500])` lists, one per request, then 200; a `hang(path)` path reads the request
/// and never answers (until the receiver stops).
final class AlertReceiver: @unchecked Sendable {
    let server: TestUpstream
    private let scripts = Guarded<[String: [Int]]>([:])
    private let hanging = Guarded<Set<String>>([])

    init() throws {
        let scripts = self.scripts, hanging = self.hanging
        server = try TestUpstream(name: "alerts") { request in
            if hanging.value.contains(request.path) { return .hang(seconds: 60) }
            let status = scripts.withValue { $0[request.path]?.isEmpty == false ? $0[request.path]!.removeFirst() : 200 }
            return .text("ok", status: status)
        }
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(server.port)\(path)" }

    func script(_ path: String, _ statuses: [Int]) { scripts.withValue { $0[path] = statuses } }

    func hang(_ path: String) { _ = hanging.withValue { $0.insert(path) } }

    /// Requests that reached `path` (complete or not: a hung one counts as it arrives).
    func requests(_ path: String) -> [RecordedRequest] { server.requests.filter { $0.path == path } }

    /// The JSON bodies POSTed to `path`, in order of arrival.
    func messages(_ path: String) -> [[String: Any]] {
        requests(path).filter(\.complete).map { (try? JSONSerialization.jsonObject(with: Data($0.body))) as? [String: Any] ?? [:] }
    }

    func stop() { server.stop() }
}
