// The Forwarded field (RFC 7239): a client's elements are kept when well-formed, and the proxy appends its own.

/// The proxy treats Forwarded as it treats X-Forwarded-For: what the client sent is kept, in order, and
/// the proxy appends the element it vouches for (`for`, `host`, `proto` of the connection it accepted),
/// so the last element is always the proxy's and an upstream that trusts only the element its proxy
/// added reads the truth. A client value that is not well-formed is dropped, not relayed: an unclosed
/// quote would otherwise swallow the proxy's element into the client's string.
enum ForwardedField {
    /// `forwarded-element *( OWS "," OWS forwarded-element )`, where an element is
    /// `[pair] *( ";" [pair] )` and a pair `token "=" ( token / quoted-string )`; empty list elements allowed.
    static func isValid(_ p: UnsafeRawBufferPointer, _ value: ByteRange) -> Bool {
        var i = value.lowerBound
        let end = value.upperBound
        while true {
            // Empty list elements and the OWS around commas.
            while i < end && (ASCII.isOWS(p[i]) || p[i] == ASCII.comma) { i += 1 }
            if i == end { return true }
            // One element: pairs separated by ';' (empty pairs allowed), no whitespace inside.
            while i < end && p[i] != ASCII.comma && !ASCII.isOWS(p[i]) {
                if p[i] == ASCII.semicolon {
                    i += 1
                    continue
                }
                let nameStart = i
                while i < end && ASCII.isTokenChar(p[i]) { i += 1 }
                guard i > nameStart, i < end, p[i] == UInt8(ascii: "=") else { return false }
                i += 1
                guard i < end else { return false }
                if p[i] == UInt8(ascii: "\"") {
                    guard let after = quotedStringEnd(p, from: i, to: end) else { return false }
                    i = after
                } else {
                    let valueStart = i
                    while i < end && ASCII.isTokenChar(p[i]) { i += 1 }
                    guard i > valueStart else { return false }
                }
                guard i == end || p[i] == ASCII.semicolon || p[i] == ASCII.comma || ASCII.isOWS(p[i]) else { return false }
            }
            while i < end && ASCII.isOWS(p[i]) { i += 1 }
            guard i == end || p[i] == ASCII.comma else { return false }
        }
    }

    /// Index after the closing quote of the quoted-string starting at `start`, or nil if it never closes
    /// or holds a byte a quoted-string may not.
    private static func quotedStringEnd(_ p: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var i = start + 1
        while i < end {
            let b = p[i]
            if b == UInt8(ascii: "\"") { return i + 1 }
            if b == UInt8(ascii: "\\") {
                guard i + 1 < end, ASCII.isFieldValueByte(p[i + 1]) else { return nil }
                i += 2
                continue
            }
            guard ASCII.isFieldValueByte(b) else { return nil }
            i += 1
        }
        return nil
    }

    /// The proxy's element: `for=` the client (an IPv6 address quoted and bracketed), `host=` the
    /// authority routed on (quoted: it may hold ':'), `proto=` the scheme the client used.
    static func writeOwnElement(
        _ w: inout ByteWriter, clientAddress: UnsafeRawBufferPointer,
        host: UnsafeRawBufferPointer?, proto: StaticString
    ) {
        if clientAddress.first == UInt8(ascii: "[") {
            w.write("for=\"")
            w.write(clientAddress)
            w.write("\"")
        } else if clientAddress.contains(UInt8(ascii: ":")) {
            w.write("for=\"[")
            w.write(clientAddress)
            w.write("]\"")
        } else {
            w.write("for=")
            w.write(clientAddress)
        }
        if let host, !host.isEmpty {
            // HostSyntax admits no '"' or '\\', so the authority needs no escaping inside the quotes.
            w.write(";host=\"")
            w.write(host)
            w.write("\"")
        }
        w.write(";proto=")
        w.write(proto)
    }
}
