// Why a head or body was rejected: the status the proxy should answer with and a short reason for logs and error bodies.

public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400, 417, 431, 501 or 505 for requests; always 502 for responses (the upstream is at fault).
    public var status: Int
    /// A static string so that failing costs no allocation, even under a flood of bad requests.
    public var reason: StaticString

    public init(status: Int, reason: StaticString) {
        self.status = status
        self.reason = reason
    }

    public static func == (lhs: HTTPParseError, rhs: HTTPParseError) -> Bool {
        lhs.status == rhs.status
            && lhs.reason.withUTF8Buffer { a in
                rhs.reason.withUTF8Buffer { b in a.elementsEqual(b) }
            }
    }

    public var description: String { "\(status) \(reason)" }

    static func badRequest(_ reason: StaticString) -> HTTPParseError {
        HTTPParseError(status: 400, reason: reason)
    }
}
