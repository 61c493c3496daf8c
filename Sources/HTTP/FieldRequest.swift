// A request that arrived as decoded fields (an HTTP/2 stream), collected into scratch bytes and written out as an HTTP/1.1 head.

/// Fields are appended one by one as the HTTP/2 decoder delivers them (already validated by it:
/// lower-case names, no CR/LF/NUL, pseudo-fields first). Regular fields are stored as ready-made
/// HTTP/1.1 field lines, so writing the head is a few copies; the rest is recorded as ranges.
public struct FieldRequest: Sendable {
    public enum Problem: Sendable, Equatable {
        /// More field bytes or fields than the limits allow → 431.
        case tooLarge
        /// A required pseudo-field is missing → 400.
        case incomplete
    }

    public private(set) var method = HTTPMethod.other
    public private(set) var methodRange: ByteRange?
    /// The `:path` value, with its query.
    public private(set) var target: ByteRange?
    /// `:authority`, or the `host` field when there is no `:authority`.
    public private(set) var authority: ByteRange?
    /// `:protocol` (RFC 8441's extended CONNECT): the protocol the stream is to become (see ExtendedConnect).
    public private(set) var connectProtocol: ByteRange?
    public private(set) var hasContentLength = false
    public private(set) var problem: Problem?
    /// Bytes of `scratch` used so far.
    public private(set) var used = 0
    private var hostField: ByteRange?
    /// The regular field lines, contiguous in scratch.
    @usableFromInline private(set) var linesStart = -1
    @usableFromInline private(set) var linesEnd = -1
    private var forwardedFor: [ByteRange] = []
    /// The client's well-formed Forwarded values (see ForwardedField), kept ahead of the proxy's element.
    private var forwarded: [ByteRange] = []
    @usableFromInline private(set) var cookies: [ByteRange] = []
    /// The trace context fields' values, kept apart from the lines: they go on as received, or are
    /// replaced when the proxy starts a trace (see TraceContext).
    private var traceparents: [ByteRange] = []
    private var tracestates: [ByteRange] = []
    /// RFC 9113 §6.5.2's measure: name + value + 32 per field.
    private var listSize = 0
    private var count = 0
    private var maxListSize: Int
    private var maxCount: Int
    /// `te: trailers` was sent: the client accepts trailers (gRPC requires saying so to an HTTP/2 server).
    public private(set) var acceptsTrailers = false

    public init(maxListSize: Int, maxCount: Int) {
        self.maxListSize = maxListSize
        self.maxCount = maxCount
    }

    /// Ready for the next request, under the current limits (a reload may have changed them).
    public mutating func reset(maxListSize: Int, maxCount: Int) {
        self.maxListSize = maxListSize
        self.maxCount = maxCount
        reset()
    }

    public mutating func reset() {
        acceptsTrailers = false
        method = .other
        methodRange = nil
        target = nil
        authority = nil
        connectProtocol = nil
        hasContentLength = false
        problem = nil
        used = 0
        hostField = nil
        linesStart = -1
        linesEnd = -1
        forwardedFor.removeAll(keepingCapacity: true)
        forwarded.removeAll(keepingCapacity: true)
        cookies.removeAll(keepingCapacity: true)
        // Tested first: emptying an empty array still costs a uniqueness check and a buffer call (callgrind).
        if !traceparents.isEmpty { traceparents.removeAll(keepingCapacity: true) }
        if !tracestates.isEmpty { tracestates.removeAll(keepingCapacity: true) }
        listSize = 0
        count = 0
    }

    /// The traceparent fields as received, for `TraceContext.traceToStart`.
    public var receivedTraceParent: ReceivedTraceParent {
        switch traceparents.count {
        case 0: return .absent
        case 1: return .one(traceparents[0])
        default: return .repeated
        }
    }

    /// The path without its query, for routing.
    public func path(in scratch: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let target else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let bytes = scratch.slice(target)
        if let q = bytes.firstIndex(of: UInt8(ascii: "?")) { return UnsafeRawBufferPointer(rebasing: bytes[..<q]) }
        return bytes
    }

    /// Records one field, copying what the head needs into `scratch` (the same buffer every call).
    public mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer) {
        guard problem == nil else { return }
        listSize += name.count + value.count + 32
        count += 1
        if listSize > maxListSize || count > maxCount {
            problem = .tooLarge
            return
        }
        if name.first == UInt8(ascii: ":") {
            guard let range = store(value, in: scratch) else { return }
            switch name.count {
            case 5 where equal(name, ":path"): target = range
            case 7 where equal(name, ":method"):
                methodRange = range
                method = HTTPMethod(UnsafeRawBufferPointer(scratch), range)
            case 10 where equal(name, ":authority"): authority = range
            case 9 where equal(name, ":protocol"): connectProtocol = range
            default: break  // :scheme — the upstream learns it from X-Forwarded-Proto
            }
            return
        }
        switch WellKnownField(name: ByteRange(lowerBound: 0, upperBound: name.count), in: name) {
        case .host:
            hostField = store(value, in: scratch)
            return
        case .xForwardedFor:
            if let r = store(value, in: scratch), !r.isEmpty { forwardedFor.append(r) }
            return
        case .forwarded:
            if !value.isEmpty && ForwardedField.isValid(value, ByteRange(lowerBound: 0, upperBound: value.count)),
                let r = store(value, in: scratch)
            {
                forwarded.append(r)
            }
            return
        case .te:
            // Hop-by-hop for HTTP/1.1; only "trailers" is allowed in HTTP/2, and passed on to HTTP/2 upstreams.
            acceptsTrailers = value.count == 8 && equal(value, "trailers")
            return
        case .traceparent:
            if let r = store(value, in: scratch) { traceparents.append(r) }
            return
        case .tracestate:
            if let r = store(value, in: scratch) { tracestates.append(r) }
            return
        case .expect:
            // No 100-continue across the proxy: the body is streamed as it comes, and an upstream
            // that does not support Expect could refuse the request with 417.
            return
        case .xForwardedProto, .xForwardedHost, .connection, .keepAlive, .proxyConnection, .transferEncoding, .upgrade, .trailer:
            // Connection-specific or ours to set; the HTTP/2 decoder already refused most of these.
            return
        case .contentLength:
            hasContentLength = true
        case .other:
            if name.count == 6 && equal(name, "cookie") {
                // RFC 9113 §8.2.3: split cookie fields are joined with "; " for HTTP/1.1.
                if let r = store(value, in: scratch) { cookies.append(r) }
                return
            }
        }
        // A regular field: "name: value\r\n", appended after the previous lines (pseudo-fields came first,
        // so the lines stay contiguous unless a host/xff/cookie value lands between them; those are
        // rare enough to move the lines instead of tracking gaps).
        let line = name.count + 2 + value.count + 2
        guard used + line <= scratch.count else {
            problem = .tooLarge
            return
        }
        if linesStart < 0 {
            linesStart = used
        } else if linesEnd != used {
            // Something was stored after the lines: move the lines to the end first.
            let length = linesEnd - linesStart
            guard used + length + line <= scratch.count else {
                problem = .tooLarge
                return
            }
            (scratch.baseAddress! + used).copyMemory(from: scratch.baseAddress! + linesStart, byteCount: length)
            linesStart = used
            used += length
            linesEnd = used
        }
        let base = scratch.baseAddress! + used
        base.copyMemory(from: name.baseAddress!, byteCount: name.count)
        scratch[used + name.count] = UInt8(ascii: ":")
        scratch[used + name.count + 1] = ASCII.sp
        if value.count > 0 { (base + name.count + 2).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        scratch[used + line - 2] = ASCII.cr
        scratch[used + line - 1] = ASCII.lf
        used += line
        linesEnd = used
    }

    /// Ends the head: checks the pseudo-fields every request needs.
    public mutating func finish() {
        if authority == nil { authority = hostField }
        if problem == nil && (methodRange == nil || (target == nil && method != .connect)) { problem = .incomplete }
    }

    private mutating func store(_ value: UnsafeRawBufferPointer, in scratch: UnsafeMutableRawBufferPointer) -> ByteRange? {
        guard used + value.count <= scratch.count else {
            problem = .tooLarge
            return nil
        }
        if value.count > 0 { (scratch.baseAddress! + used).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        defer { used += value.count }
        return ByteRange(lowerBound: used, upperBound: used + value.count)
    }

    private func equal(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        ASCII.equals(bytes, ByteRange(lowerBound: 0, upperBound: bytes.count), literal)
    }

    /// The HTTP/1.1 head for the upstream: request line, Host from the authority, the fields,
    /// X-Forwarded-*, and `Transfer-Encoding: chunked` when the body has no declared length.
    /// `webSocketKey`: an extended CONNECT for a WebSocket, written as the HTTP/1.1 handshake (RFC 8441
    /// §5: a GET with `Connection: Upgrade`, `Upgrade: websocket` and this Sec-WebSocket-Key).
    /// `startTrace`: a new traceparent in place of the received trace context (see TraceContext).
    public func writeHTTP1(
        source: UnsafeRawBufferPointer, clientAddress: UnsafeRawBufferPointer, proto: StaticString,
        chunkedBody: Bool, webSocketKey: UnsafeRawBufferPointer? = nil, startTrace: TraceIDs? = nil,
        into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard let methodRange, let target else { return nil }
        var w = ByteWriter(out)
        if webSocketKey == nil { w.write(source.slice(methodRange)) } else { w.write("GET") }
        w.write(byte: ASCII.sp)
        w.write(source.slice(target))
        w.write(" HTTP/1.1\r\nHost: ")
        if let authority { w.write(source.slice(authority)) }
        w.write("\r\n")
        if linesStart >= 0 { w.write(source.slice(ByteRange(lowerBound: linesStart, upperBound: linesEnd))) }
        if !cookies.isEmpty {
            w.write("cookie: ")
            for (i, c) in cookies.enumerated() {
                if i > 0 { w.write("; ") }
                w.write(source.slice(c))
            }
            w.write("\r\n")
        }
        if let startTrace {
            HeadWriter.writeTraceParent(startTrace, into: &w)
        } else if !traceparents.isEmpty || !tracestates.isEmpty {
            writeTraceContextLines(&w, source: source)
        }
        w.write("X-Forwarded-For: ")
        for f in forwardedFor {
            w.write(source.slice(f))
            w.write(", ")
        }
        w.write(clientAddress)
        w.write("\r\nX-Forwarded-Proto: ")
        w.write(proto)
        w.write("\r\n")
        if let authority, !authority.isEmpty {
            w.write("X-Forwarded-Host: ")
            w.write(source.slice(authority))
            w.write("\r\n")
        }
        w.write("Forwarded: ")
        writeForwarded(&w, source: source, clientAddress: clientAddress, proto: proto)
        w.write("\r\n")
        if chunkedBody { w.write("Transfer-Encoding: chunked\r\n") }
        if let webSocketKey {
            w.write("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ")
            w.write(webSocketKey)
            w.write("\r\n")
        }
        w.write("\r\n")
        return w.result
    }

    /// The request's fields for an HTTP/2 upstream, in order: pseudo-fields, the fields, cookies, the
    /// trace context (or, with `startTrace`, the proxy's traceparent), X-Forwarded-*. X-Forwarded-For
    /// is composed into `storage`, which (like `source`) must stay valid until the fields are submitted.
    /// False when `storage` is too small.
    public func forEachHTTP2Field(
        source: UnsafeRawBufferPointer, clientAddress: UnsafeRawBufferPointer, proto: StaticString,
        scheme: StaticString, storage: UnsafeMutableRawBufferPointer, startTrace: TraceIDs? = nil,
        _ emit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        guard let methodRange else { return false }
        emit(literal(":method"), source.slice(methodRange))
        emit(literal(":scheme"), literal(scheme))
        if let authority { emit(literal(":authority"), source.slice(authority)) }
        if let target { emit(literal(":path"), source.slice(target)) }
        if linesStart >= 0 {
            // Each stored line is "name: value\r\n"; names cannot contain ':' (the decoder checked).
            var i = linesStart
            while i < linesEnd {
                var colon = i
                while source[colon] != UInt8(ascii: ":") { colon += 1 }
                var end = colon + 2
                while source[end] != ASCII.cr { end += 1 }
                emit(
                    source.slice(ByteRange(lowerBound: i, upperBound: colon)),
                    source.slice(ByteRange(lowerBound: colon + 2, upperBound: end)))
                i = end + 2
            }
        }
        for c in cookies { emit(literal("cookie"), source.slice(c)) }
        if acceptsTrailers { emit(literal("te"), literal("trailers")) }
        if startTrace == nil {
            for p in traceparents { emit(literal("traceparent"), source.slice(p)) }
            for s in tracestates { emit(literal("tracestate"), source.slice(s)) }
        }
        var w = ByteWriter(storage)
        for f in forwardedFor {
            w.write(source.slice(f))
            w.write(", ")
        }
        w.write(clientAddress)
        guard let n = w.result else { return false }
        // Forwarded is composed after X-Forwarded-For in the same storage.
        let rest = UnsafeMutableRawBufferPointer(rebasing: storage[n...])
        var fw = ByteWriter(rest)
        writeForwarded(&fw, source: source, clientAddress: clientAddress, proto: proto)
        guard let m = fw.result else { return false }
        var traceparent: UnsafeRawBufferPointer?
        if let startTrace {
            let rest = UnsafeMutableRawBufferPointer(rebasing: storage[(n + m)...])
            guard let length = startTrace.write(into: rest) else { return false }
            traceparent = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(rest)[0..<length])
        }
        emit(literal("x-forwarded-for"), UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<n]))
        emit(literal("x-forwarded-proto"), literal(proto))
        if let authority, !authority.isEmpty { emit(literal("x-forwarded-host"), source.slice(authority)) }
        emit(literal("forwarded"), UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(rest)[0..<m]))
        if let traceparent { emit(literal("traceparent"), traceparent) }
        return true
    }

    /// The received traceparent and tracestate fields as HTTP/1.1 lines, in their received order per name.
    private func writeTraceContextLines(_ w: inout ByteWriter, source: UnsafeRawBufferPointer) {
        for p in traceparents {
            w.write("traceparent: ")
            w.write(source.slice(p))
            w.write("\r\n")
        }
        for s in tracestates {
            w.write("tracestate: ")
            w.write(source.slice(s))
            w.write("\r\n")
        }
    }

    /// The client's well-formed Forwarded values, then the proxy's element (as for HTTP/1.1, see ForwardedField).
    private func writeForwarded(
        _ w: inout ByteWriter, source: UnsafeRawBufferPointer, clientAddress: UnsafeRawBufferPointer,
        proto: StaticString
    ) {
        for f in forwarded {
            w.write(source.slice(f))
            w.write(", ")
        }
        ForwardedField.writeOwnElement(&w, clientAddress: clientAddress, host: authority.map { source.slice($0) }, proto: proto)
    }

    private func literal(_ s: StaticString) -> UnsafeRawBufferPointer {
        // Literals live in the binary: the pointer stays valid as long as the fields need it.
        UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }
}
