// Config-given text of an access-log line (a route's arm, an endpoint), escaped for both formats once and copied into every line.

/// Made when a route is compiled or a pool is created, not per request: a line copies the escaped bytes
/// (one `memcpy`) where it would escape three names and retain their strings (callgrind: ~600 instructions a line).
/// Immutable once made, so loops may share it.
final class AccessLogFragment: @unchecked Sendable {
    private let storage: UnsafeMutableRawPointer
    /// The escaped bytes, which live as long as the fragment.
    let text: AccessLogText

    /// `write` is called twice, with `json` true then false, and writes at most `capacity` bytes each time.
    private init(capacity: Int, _ write: (inout AccessLogLine, _ json: Bool) -> Void) {
        storage = UnsafeMutableRawPointer.allocate(byteCount: 2 * capacity, alignment: 8)
        var line = AccessLogLine(base: storage)
        write(&line, true)
        let json = UnsafeRawBufferPointer(start: storage, count: line.count)
        line = AccessLogLine(base: storage + capacity)
        write(&line, false)
        text = AccessLogText(json: json, combined: UnsafeRawBufferPointer(start: storage + capacity, count: line.count))
    }

    deinit { storage.deallocate() }

    /// A route's value, then the arm and the revision with their keys: `web","arm":"canary","revision":"v2`
    /// and `web arm=canary rev=v2`; an absent or empty name is "-".
    static func arm(route: String?, arm: StaticString, revision: String?) -> AccessLogFragment {
        AccessLogFragment(capacity: 2 * AccessLogLine.Budget.name + 64) { line, json in
            line.nameOrDash(route, json: json)
            line.text(json ? "\",\"arm\":\"" : " arm=")
            line.text(arm)
            line.text(json ? "\",\"revision\":\"" : " rev=")
            line.nameOrDash(revision, json: json)
        }
    }

    /// An endpoint as configured (`host:port`).
    static func endpoint(_ text: String) -> AccessLogFragment {
        AccessLogFragment(capacity: AccessLogLine.Budget.name) { line, json in line.nameOrDash(text, json: json) }
    }

    /// A request that was never routed: no route, arm `none`, no revision.
    static let unrouted = arm(route: nil, arm: "none", revision: nil)
}

/// A fragment's bytes, held by a capture and a line without reference counting (no retain and release
/// a line, as a reference to the fragment cost); valid while the fragment lives.
struct AccessLogText {
    /// The text as a JSON line holds it (inside a string value: the caller wrote the opening quote).
    let json: UnsafeRawBufferPointer
    /// The text as a combined line holds it.
    let combined: UnsafeRawBufferPointer
}
