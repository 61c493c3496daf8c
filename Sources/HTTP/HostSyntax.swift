// Validates a Host value or an absolute-form authority: uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2).

enum HostSyntax {
    /// reg-name (which includes IPv4), or an IP-literal in brackets, then an optional port of 1-5 digits.
    /// Userinfo ('@'), paths and spaces are refused: routing on such a value would be ambiguous.
    /// `allowEmpty`: an empty Host field is how a client says the target has no authority (RFC 9110 §7.2),
    /// whereas an absolute-form URI with an empty authority ("http:///p") is invalid.
    static func isValid(_ p: UnsafeRawBufferPointer, _ r: ByteRange, allowEmpty: Bool) -> Bool {
        var i = r.lowerBound
        let end = r.upperBound
        guard i < end else { return allowEmpty }
        if p[i] == UInt8(ascii: "[") {
            i += 1
            let start = i
            while i < end && p[i] != UInt8(ascii: "]") {
                // IPv6 (with an optional dotted IPv4 tail); checked loosely, the upstream connect is by config anyway.
                guard ASCII.hexValue(p[i]) != nil || p[i] == ASCII.colon || p[i] == UInt8(ascii: ".") else {
                    return false
                }
                i += 1
            }
            guard i < end, i > start else { return false }
            i += 1
        } else {
            let start = i
            while i < end && p[i] != ASCII.colon {
                if p[i] == UInt8(ascii: "%") {
                    guard i + 2 < end, ASCII.hexValue(p[i + 1]) != nil, ASCII.hexValue(p[i + 2]) != nil else {
                        return false
                    }
                    i += 3
                    continue
                }
                guard isRegNameChar(p[i]) else { return false }
                i += 1
            }
            guard i > start else { return false }
        }
        if i == end { return true }
        guard p[i] == ASCII.colon else { return false }
        let digits = end - (i + 1)
        guard digits >= 1 && digits <= 5 else { return false }
        for k in (i + 1)..<end where !ASCII.isDigit(p[k]) { return false }
        return true
    }

    /// unreserved / sub-delims.
    private static func isRegNameChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }
}
