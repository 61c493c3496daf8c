// One admin request as read off a connection: the head's parts the API uses, read byte by byte without sockets.

/// The request line, the few fields the admin API looks at, and the body (only the login form reads it).
struct AdminRequest: Equatable {
    var method: String
    /// The target's path, without the query.
    var path: String
    var query: String
    var host: String?
    var origin: String?
    var authorization: String?
    /// Every `Cookie` field, joined with "; " as RFC 6265 asks of a client that sends one.
    var cookie: String? = nil
    var referer: String? = nil
    /// `X-Canarygate-Request`: the admin page's script sends it, a cross-site form cannot (see AdminAccess).
    var pageHeader: String? = nil
    /// `Sec-Fetch-Site`: what a browser says of the page that made the request (see AdminAccess).
    var fetchSite: String? = nil
    /// Every `Accept` field, joined with ", ".
    var accept: String? = nil
    var body: [UInt8] = []
}

/// Accumulates bytes until a request head and its `Content-Length` body have arrived.
struct AdminRequestReader {
    static let headLimit = 16 * 1024
    /// Only the login form's body is used, but one left unread would make the close a reset that can destroy
    /// the response before the client reads it; a client may send a small one (a JSON reason, say).
    static let bodyLimit = 64 * 1024

    enum Step: Equatable {
        case needMore
        case complete(AdminRequest)
        /// A 400 with this reason, then close.
        case invalid(String)
    }

    private enum State {
        case head([UInt8])
        case body(AdminRequest, remaining: Int)
    }

    private var state = State.head([])

    init() {}

    mutating func receive(_ bytes: ArraySlice<UInt8>) -> Step {
        switch state {
        case .head(var head):
            let before = head.count
            head += bytes.prefix(Self.headLimit + 4 - before)
            guard let end = Self.headEnd(head, from: max(0, before - 3)) else {
                if head.count > Self.headLimit { return .invalid("request head larger than \(Self.headLimit) bytes") }
                state = .head(head)
                return .needMore
            }
            let request: AdminRequest, bodyLength: Int
            switch Self.parse(head[..<end]) {
            case .failure(let reason): return .invalid(reason.text)
            case .success(let parsed): (request, bodyLength) = parsed
            }
            // What follows the head in these bytes is the body's start.
            state = .body(request, remaining: bodyLength)
            return receive(bytes[(bytes.startIndex + end - before)...])
        case .body(var request, let remaining):
            let taken = bytes.prefix(remaining)
            request.body += taken
            let left = remaining - taken.count
            state = .body(request, remaining: left)
            return left == 0 ? .complete(request) : .needMore
        }
    }

    struct Reason: Error { var text: String }

    private static func headEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in start...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    /// The fields kept as they are, by lower-case name, with the name messages give them. Never mutated (key paths are
    /// immutable values, just not marked Sendable).
    private nonisolated(unsafe) static let singleFields: [String: (WritableKeyPath<AdminRequest, String?>, String)] = [
        "host": (\.host, "Host"), "origin": (\.origin, "Origin"), "authorization": (\.authorization, "Authorization"),
        "referer": (\.referer, "Referer"), "x-canarygate-request": (\.pageHeader, "X-Canarygate-Request"),
        "sec-fetch-site": (\.fetchSite, "Sec-Fetch-Site"),
    ]

    /// The request and its body length, or why it is refused.
    private static func parse(_ head: ArraySlice<UInt8>) -> Result<(AdminRequest, Int), Reason> {
        let lines = String(decoding: head, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let requestLine = lines.first else { return .failure(Reason(text: "empty request")) }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].hasPrefix("/"), parts[2].hasPrefix("HTTP/1.") else {
            return .failure(Reason(text: "malformed request line"))
        }
        let target = parts[1]
        let query = target.firstIndex(of: "?")
        var request = AdminRequest(
            method: String(parts[0]), path: String(target[..<(query ?? target.endIndex)]),
            query: query.map { String(target[target.index(after: $0)...]) } ?? "")
        var contentLength: Int?
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .failure(Reason(text: "malformed header line")) }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            // One of each: two Host or Authorization fields could be read differently by a proxy in front.
            if let (field, label) = Self.singleFields[name] {
                guard request[keyPath: field] == nil else { return .failure(Reason(text: "more than one \(label) field")) }
                request[keyPath: field] = value
                continue
            }
            switch name {
            case "cookie":
                request.cookie = request.cookie.map { $0 + "; " + value } ?? value
            case "accept":
                request.accept = request.accept.map { $0 + ", " + value } ?? value
            case "content-length":
                guard contentLength == nil, let length = Int(value), length >= 0, value.allSatisfy(\.isASCII) else {
                    return .failure(Reason(text: "invalid Content-Length"))
                }
                guard length <= bodyLimit else { return .failure(Reason(text: "body larger than \(bodyLimit) bytes")) }
                contentLength = length
            case "transfer-encoding":
                return .failure(Reason(text: "Transfer-Encoding is not accepted; send Content-Length"))
            default:
                break
            }
        }
        return .success((request, contentLength ?? 0))
    }
}

private extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
