// Which HTTP/1.1 requests ask for a protocol switch the proxy relays as a tunnel (WebSocket and other Upgrade tokens).

public enum UpgradeRules {
    /// Whether a request that listed "upgrade" in Connection asks for a switch the proxy relays (its
    /// Upgrade fields forwarded, a 101 answered with a tunnel). Not when:
    /// - it is HTTP/1.0: RFC 9110 §7.8 has a server ignore Upgrade in an HTTP/1.0 request;
    /// - it has a body: the switch would come after a body the proxy streams, and no client of a tunnel
    ///   sends one (a WebSocket handshake is a GET without content; `Content-Length: 0`, which some
    ///   clients add, declares none and is switched);
    /// - it has no Upgrade field, or an empty one;
    /// - an Upgrade field names `h2c`: HTTP/2 is spoken to the proxy directly (prior knowledge, ALPN),
    ///   never through an upgrade the upstream would answer.
    public static func tunnelRequested(
        versionMinor: UInt8, framing: BodyFraming, headers: [HeaderField], in p: UnsafeRawBufferPointer
    ) -> Bool {
        guard versionMinor == 1, framing == .none || framing == .contentLength(0) else { return false }
        var protocols = 0
        var h2c = false
        for field in headers where field.wellKnown == .upgrade {
            FramingFields.forEachListElement(p, field.value) { element in
                protocols += 1
                if isH2C(p, element) { h2c = true }
            }
        }
        return protocols > 0 && !h2c
    }

    /// "h2c", or "h2c/<version>" (a protocol token may carry a version, RFC 9110 §7.8).
    private static func isH2C(_ p: UnsafeRawBufferPointer, _ element: ByteRange) -> Bool {
        let name = ByteRange(lowerBound: element.lowerBound, upperBound: element.lowerBound + 3)
        guard element.count >= 3, ASCII.equalsIgnoringCase(p, name, "h2c") else { return false }
        return element.count == 3 || p[element.lowerBound + 3] == ASCII.slash
    }
}
