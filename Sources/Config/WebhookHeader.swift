// A header a webhook sends: a plain value, or a secret read from a file and never shown.

/// `headers: { X-Team: payments, Authorization: { file: /etc/canarygate/hook-token } }`. A value from
/// a file is a secret: it is read when the config is applied (start and every reload, so a rotated
/// token is picked up by a reload), and it never appears in a message, a description or a dump of the
/// config; the hook client also removes it from the response text it reports.
public struct WebhookHeader: Sendable, Equatable {
    public var name: String
    public var value: String
    /// Where `value` was read from; nil for a value written in the config.
    public var file: String?

    public init(name: String, value: String, file: String? = nil) {
        self.name = name
        self.value = value
        self.file = file
    }

    /// Read from a file, so never to be shown.
    public var isSecret: Bool { file != nil }

    /// Names the webhook client writes itself, or that would change the message's framing or the
    /// connection; configuring one would send it twice or break the exchange.
    static let reservedNames: Set<String> = [
        "host", "user-agent", "content-type", "accept", "content-length", "connection",
        "transfer-encoding", "te", "trailer", "upgrade", "keep-alive", "proxy-connection", "expect", "idempotency-key",
    ]

    /// Why `name` cannot be sent (nil when it can): a token (RFC 9110 §5.6.2), not one the client writes.
    public static func problem(withName name: String) -> String? {
        guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else {
            return "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
        }
        if reservedNames.contains(name.lowercased()) { return "is set by the webhook client and cannot be configured" }
        return nil
    }

    /// Why `value` cannot be sent (nil when it can), in words that never include it: one line of
    /// visible ASCII with inner spaces, nothing a receiver would strip or could read as a new header.
    public static func problem(withValue value: String) -> String? {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, let last = bytes.last else { return "is empty" }
        guard bytes.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 }) else {
            return "may hold only visible ASCII characters and spaces on one line"
        }
        if first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 { return "starts or ends with a space" }
        return nil
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}

/// Every way of printing a header (interpolation, `debugDescription`, `dump`, a failed test's
/// expectation) shows a secret's file, never its value.
extension WebhookHeader: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "\(name): \(file.map { "<secret from \($0)>" } ?? value)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "value": file == nil ? value : "<secret>", "file": file as Any])
    }
}
