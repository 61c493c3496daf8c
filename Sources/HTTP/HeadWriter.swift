// Serialises the heads the proxy sends: a rewritten request upstream, a rewritten response downstream, its own errors.

public enum HeadWriter {
    /// The upstream request head. Fields that are not hop-by-hop are copied byte-exact (name through value), in order;
    /// then X-Forwarded-For (every received X-Forwarded-For value, then `clientAddress`), X-Forwarded-Proto,
    /// X-Forwarded-Host (when the host is known and not empty), Forwarded (every well-formed received value,
    /// then the proxy's element: see ForwardedField) and, for a chunked body, "Transfer-Encoding: chunked".
    /// Always HTTP/1.1, whatever the client spoke. `upgrade`: the request's Upgrade fields go on, with
    /// `Connection: upgrade` (see `UpgradeRules`). `startTrace`: the received traceparent and tracestate
    /// are left out and a traceparent with these ids is added (`TraceContext.traceToStart`).
    /// Returns bytes written, or nil when `out` is too small.
    public static func writeRequest(
        _ head: RequestHead, source: UnsafeRawBufferPointer, clientAddress: UnsafeRawBufferPointer,
        proto: StaticString, upgrade: Bool = false, startTrace: TraceIDs? = nil, into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var w = ByteWriter(out)
        w.write(source.slice(head.methodRange))
        w.write(byte: ASCII.sp)
        // An absolute-form target with an empty path becomes "/" (or "*" for OPTIONS), RFC 9112 §3.2.1/§3.2.4.
        if head.target.isEmpty || source[head.target.lowerBound] == ASCII.question {
            w.write(head.method == .options && head.target.isEmpty ? "*" : "/")
        }
        w.write(source.slice(head.target))
        w.write(" HTTP/1.1\r\n")
        var wroteHost = false
        let replacesTrace = startTrace != nil
        for field in head.headers where !field.isHopByHop {
            if replacesTrace && field.wellKnown.isTraceContext { continue }
            if field.wellKnown == .host, let host = head.host, host != field.value {
                // An absolute-form authority overrides Host, and the upstream must see the one that was routed on.
                w.write("Host: ")
                w.write(source.slice(host))
            } else if field.wellKnown == .contentLength {
                writeContentLength(field, source: source, into: &w)
            } else {
                w.write(source.slice(ByteRange(lowerBound: field.name.lowerBound, upperBound: field.value.upperBound)))
            }
            wroteHost = wroteHost || field.wellKnown == .host
            w.write("\r\n")
        }
        if !wroteHost {
            // Only an HTTP/1.0 request can lack Host, but the request sent upstream is HTTP/1.1 and must have one:
            // the absolute-form authority if there was one, else empty, which RFC 9110 §7.2 prescribes for that case.
            w.write("Host: ")
            if let host = head.host { w.write(source.slice(host)) }
            w.write("\r\n")
        }
        w.write("X-Forwarded-For: ")
        for field in head.headers where field.wellKnown == .xForwardedFor && !field.value.isEmpty {
            w.write(source.slice(field.value))
            w.write(", ")
        }
        w.write(clientAddress)
        w.write("\r\nX-Forwarded-Proto: ")
        w.write(proto)
        w.write("\r\n")
        if let host = head.host, !host.isEmpty {
            w.write("X-Forwarded-Host: ")
            w.write(source.slice(host))
            w.write("\r\n")
        }
        w.write("Forwarded: ")
        for field in head.headers
        where field.wellKnown == .forwarded && !field.value.isEmpty
            && ForwardedField.isValid(source, field.value)
        {
            w.write(source.slice(field.value))
            w.write(", ")
        }
        ForwardedField.writeOwnElement(&w, clientAddress: clientAddress, host: head.host.map { source.slice($0) }, proto: proto)
        w.write("\r\n")
        if let startTrace { writeTraceParent(startTrace, into: &w) }
        if head.framing == .chunked { w.write("Transfer-Encoding: chunked\r\n") }
        if upgrade { writeUpgrade(head.headers, source: source, into: &w) }
        w.write("\r\n")
        return w.result
    }

    /// The proxy's own `traceparent` field line.
    static func writeTraceParent(_ ids: TraceIDs, into w: inout ByteWriter) {
        w.write("traceparent: ")
        ids.write(into: &w)
        w.write("\r\n")
    }

    /// `Connection: upgrade` and the message's Upgrade field lines (hop-by-hop, so skipped by the field loop).
    private static func writeUpgrade(_ headers: [HeaderField], source: UnsafeRawBufferPointer, into w: inout ByteWriter) {
        w.write("Connection: upgrade\r\n")
        for field in headers where field.wellKnown == .upgrade {
            w.write(source.slice(ByteRange(lowerBound: field.name.lowerBound, upperBound: field.value.upperBound)))
            w.write("\r\n")
        }
    }

    /// The client response head: status line as HTTP/1.1 with the upstream's reason, fields that are not hop-by-hop,
    /// "Transfer-Encoding: chunked" when `chunked`, then the Connection field `connection` asks for.
    /// `proxyFields`: complete field lines of the proxy's own (session affinity's Set-Cookie), added last.
    /// `armField`: the arm header, added after them; the upstream's own field of that name is left out.
    public static func writeResponse(
        _ head: ResponseHead, source: UnsafeRawBufferPointer, chunked: Bool, connection: ConnectionDirective,
        proxyFields: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0), armField: ArmField? = nil,
        into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var w = ByteWriter(out)
        w.write("HTTP/1.1 ")
        w.writeDecimal(UInt64(head.status))
        w.write(byte: ASCII.sp)
        w.write(source.slice(head.reason))
        w.write("\r\n")
        // Two loops, so that a response without the arm header pays nothing per field for it (callgrind:
        // a test inside one loop cost ~100 instructions per response, the loop's registers spilled).
        if let armField {
            for field in head.headers where !field.isHopByHop && !armField.isNamed(source, field.name) {
                writeResponseField(field, source: source, into: &w)
            }
        } else {
            for field in head.headers where !field.isHopByHop { writeResponseField(field, source: source, into: &w) }
        }
        if chunked { w.write("Transfer-Encoding: chunked\r\n") }
        switch connection {
        case .none: break
        case .close: w.write("Connection: close\r\n")
        case .keepAlive: w.write("Connection: keep-alive\r\n")
        case .upgrade: writeUpgrade(head.headers, source: source, into: &w)
        }
        if proxyFields.count > 0 { w.write(proxyFields) }
        if let armField { w.write(armField.line) }
        w.write("\r\n")
        return w.result
    }

    /// A received field line, as received but for Content-Length's canonical value.
    @inline(__always)
    private static func writeResponseField(_ field: HeaderField, source: UnsafeRawBufferPointer, into w: inout ByteWriter) {
        if field.wellKnown == .contentLength {
            writeContentLength(field, source: source, into: &w)
        } else {
            w.write(source.slice(ByteRange(lowerBound: field.name.lowerBound, upperBound: field.value.upperBound)))
        }
        w.write("\r\n")
    }

    /// The parser narrowed Content-Length's value to its canonical digits; what precedes them in the
    /// received line (a leading zero, OWS) is not copied.
    private static func writeContentLength(_ field: HeaderField, source: UnsafeRawBufferPointer, into w: inout ByteWriter) {
        w.write(source.slice(field.name))
        w.write(": ")
        w.write(source.slice(field.value))
    }

    /// A complete plain-text response of the proxy's own (errors, mostly): `message` and a newline as the body.
    /// `armField`: the request had an arm (a 502/503/504 for it), which the response names.
    public static func writeErrorResponse(
        status: Int, message: StaticString, close: Bool, armField: ArmField? = nil, into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var w = ByteWriter(out)
        w.write("HTTP/1.1 ")
        w.writeDecimal(UInt64(status))
        w.write(byte: ASCII.sp)
        w.write(ReasonPhrase.standard(for: status))
        w.write("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")
        w.writeDecimal(UInt64(message.withUTF8Buffer { $0.count } + 1))
        w.write("\r\n")
        if close { w.write("Connection: close\r\n") }
        if let armField { w.write(armField.line) }
        w.write("\r\n")
        w.write(message)
        w.write(byte: ASCII.lf)
        return w.result
    }
}
