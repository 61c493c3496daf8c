// A route's cohort rules (`canary.match`) compiled to bytes, and the test of a request's view against them.
import Config
import HTTP

/// Built once per config; read by every loop on each request of its route. A class, so the route holds
/// one reference that is nil for routes without rules. Matching reads the request's bytes in place and
/// allocates nothing (regexes are `ByteRegex`).
public final class CohortRules: Sendable {
    /// Alternatives: the request is in the cohort when it meets any of them.
    let entries: [CohortRule]

    /// nil for no entries: such a route has no cohort.
    init?(_ entries: [CohortEntry]) {
        guard !entries.isEmpty else { return nil }
        self.entries = entries.map(CohortRule.init)
    }

    /// Whether `request` of `route` goes to the canary as one of the cohort: the canary is live and
    /// the request matches an entry.
    func admits(_ request: RequestView, route: CompiledRoute) -> Bool {
        route.canaryIsLive && matches(request)
    }

    func matches(_ request: RequestView) -> Bool {
        for entry in entries where entry.matches(request) { return true }
        return false
    }
}

/// One entry: every condition it has must hold.
struct CohortRule: Sendable {
    let method: MethodTest?
    /// Empty: any path.
    let pathPrefix: [UInt8]
    /// Lower-case names.
    let headers: [(name: [UInt8], test: ValueTest)]
    let cookies: [(name: [UInt8], test: ValueTest)]

    init(_ entry: CohortEntry) {
        method = entry.method.map(MethodTest.init)
        pathPrefix = Array((entry.pathPrefix ?? "").utf8)
        headers = entry.headers.map { (Array($0.name.utf8), ValueTest($0.value)) }
        cookies = entry.cookies.map { (Array($0.name.utf8), ValueTest($0.value)) }
    }

    func matches(_ request: RequestView) -> Bool {
        if let method, !method.matches(request) { return false }
        if !pathPrefix.isEmpty && !pathPrefix.withUnsafeBytes({ request.path.starts(with: $0) }) { return false }
        for (name, test) in headers {
            // The first field of that name, as `RequestView.field` finds it; an absent field never matches.
            guard let value = name.withUnsafeBytes({ request.field($0) }), test.matches(value) else { return false }
        }
        for (name, test) in cookies {
            guard let value = name.withUnsafeBytes({ request.cookie($0) }), test.matches(value) else { return false }
        }
        return true
    }
}

/// A method compared as `HTTPMethod`, and by its bytes when that is `.other`.
struct MethodTest: Sendable {
    let method: HTTPMethod
    let name: [UInt8]

    init(_ token: String) {
        name = Array(token.utf8)
        switch token {
        case "GET": method = .get
        case "HEAD": method = .head
        case "POST": method = .post
        case "PUT": method = .put
        case "DELETE": method = .delete
        case "OPTIONS": method = .options
        case "PATCH": method = .patch
        case "TRACE": method = .trace
        case "CONNECT": method = .connect
        default: method = .other
        }
    }

    func matches(_ request: RequestView) -> Bool {
        request.method == method && (method != .other || name.withUnsafeBytes { request.methodName.elementsEqual($0) })
    }
}

/// A header's or cookie's value test, on bytes.
enum ValueTest: Sendable {
    case exact([UInt8])
    case prefix([UInt8])
    case regex(ByteRegex)

    init(_ condition: ValueCondition) {
        switch condition {
        case .exact(let text): self = .exact(Array(text.utf8))
        case .prefix(let text): self = .prefix(Array(text.utf8))
        case .regex(let regex): self = .regex(regex)
        }
    }

    func matches(_ value: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .exact(let bytes): return bytes.withUnsafeBytes { value.elementsEqual($0) }
        case .prefix(let bytes): return bytes.withUnsafeBytes { value.starts(with: $0) }
        case .regex(let regex): return regex.matches(value)
        }
    }
}
