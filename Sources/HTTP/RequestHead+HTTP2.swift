// An HTTP/1.1 request head as the fields of an HTTP/2 request (an HTTP/1.1 client relayed to an HTTP/2 upstream).

extension RequestHead {
    /// The request's fields for an HTTP/2 upstream, in order: `:method`, `:scheme`, `:authority` (the
    /// routed Host or absolute-form authority, when there is one), `:path`; then every end-to-end field
    /// with its name lower-cased (RFC 9113 §8.2.1), `te: trailers` when the client's TE lists it; then
    /// X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and Forwarded composed as `HeadWriter.writeRequest`
    /// composes them for an HTTP/1.1 upstream. Left out: Host (it is `:authority`), the connection-specific
    /// fields (RFC 9113 §8.2.2: Connection and the fields it names, Keep-Alive, Proxy-Connection,
    /// Transfer-Encoding, Upgrade, TE but `trailers`), Trailer, and Expect (the proxy answers a
    /// 100-continue itself). Lower-cased names, the path and the composed values are written into
    /// `storage`, which (like `source`) must stay valid until the fields are submitted. False when
    /// `storage` is too small. `startTrace`: as for `HeadWriter.writeRequest`.
    public func forEachHTTP2Field(
        source: UnsafeRawBufferPointer, clientAddress: UnsafeRawBufferPointer, proto: StaticString,
        scheme: StaticString, storage: UnsafeMutableRawBufferPointer, startTrace: TraceIDs? = nil,
        _ emit: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) -> Bool {
        var arena = FieldArena(storage)
        emit(literalBytes(":method"), source.slice(methodRange))
        emit(literalBytes(":scheme"), literalBytes(scheme))
        if let host, !host.isEmpty { emit(literalBytes(":authority"), source.slice(host)) }
        // An absolute-form target with an empty path becomes "/" (or "*" for OPTIONS), as for HTTP/1.1.
        if target.isEmpty || source[target.lowerBound] == ASCII.question {
            let start = arena.position
            arena.write(method == .options && target.isEmpty ? "*" : "/")
            arena.write(source.slice(target))
            guard let path = arena.slice(from: start) else { return false }
            emit(literalBytes(":path"), path)
        } else {
            emit(literalBytes(":path"), source.slice(target))
        }
        var acceptsTrailers = false
        for field in headers {
            if field.wellKnown == .te { acceptsTrailers = acceptsTrailers || Self.listsTrailers(source, field.value) }
            guard !field.isHopByHop, field.wellKnown != .host, field.wellKnown != .expect else { continue }
            if startTrace != nil && field.wellKnown.isTraceContext { continue }
            let start = arena.position
            arena.write(source.slice(field.name))
            guard let name = arena.slice(from: start) else { return false }
            ASCII.lowercase(UnsafeMutableRawPointer(mutating: name.baseAddress!), count: name.count)
            emit(name, source.slice(field.value))
        }
        if acceptsTrailers { emit(literalBytes("te"), literalBytes("trailers")) }

        let forStart = arena.position
        for field in headers where field.wellKnown == .xForwardedFor && !field.value.isEmpty {
            arena.write(source.slice(field.value))
            arena.write(", ")
        }
        arena.write(clientAddress)
        guard let forwardedFor = arena.slice(from: forStart) else { return false }
        let forwardedStart = arena.position
        for field in headers where field.wellKnown == .forwarded && !field.value.isEmpty && ForwardedField.isValid(source, field.value) {
            arena.write(source.slice(field.value))
            arena.write(", ")
        }
        arena.writeOwnForwardedElement(clientAddress: clientAddress, host: host.map { source.slice($0) }, proto: proto)
        guard let forwarded = arena.slice(from: forwardedStart) else { return false }
        var traceparent: UnsafeRawBufferPointer?
        if let startTrace {
            let start = arena.position
            arena.writeTraceParent(startTrace)
            guard let value = arena.slice(from: start) else { return false }
            traceparent = value
        }
        emit(literalBytes("x-forwarded-for"), forwardedFor)
        emit(literalBytes("x-forwarded-proto"), literalBytes(proto))
        if let host, !host.isEmpty { emit(literalBytes("x-forwarded-host"), source.slice(host)) }
        emit(literalBytes("forwarded"), forwarded)
        if let traceparent { emit(literalBytes("traceparent"), traceparent) }
        return true
    }

    /// A TE value naming "trailers", the one element HTTP/2 allows (RFC 9113 §8.2.2).
    static func listsTrailers(_ p: UnsafeRawBufferPointer, _ value: ByteRange) -> Bool {
        var found = false
        FramingFields.forEachListElement(p, value) { (element) throws(Never) in
            if ASCII.equalsIgnoringCase(p, element, "trailers") { found = true }
        }
        return found
    }
}

/// Bytes written one after another into a caller's buffer; each piece is handed out as a slice of it.
private struct FieldArena {
    let storage: UnsafeMutableRawBufferPointer
    var writer: ByteWriter
    private(set) var position = 0

    init(_ storage: UnsafeMutableRawBufferPointer) {
        self.storage = storage
        writer = ByteWriter(storage)
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        writer.write(bytes)
        position = writer.result ?? storage.count + 1
    }

    mutating func write(_ literal: StaticString) {
        writer.write(literal)
        position = writer.result ?? storage.count + 1
    }

    mutating func writeOwnForwardedElement(clientAddress: UnsafeRawBufferPointer, host: UnsafeRawBufferPointer?, proto: StaticString) {
        ForwardedField.writeOwnElement(&writer, clientAddress: clientAddress, host: host, proto: proto)
        position = writer.result ?? storage.count + 1
    }

    mutating func writeTraceParent(_ ids: TraceIDs) {
        ids.write(into: &writer)
        position = writer.result ?? storage.count + 1
    }

    /// What was written since `start`, or nil once the storage overflowed.
    func slice(from start: Int) -> UnsafeRawBufferPointer? {
        guard position <= storage.count else { return nil }
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[start..<position])
    }
}

/// A literal's bytes: literals live in the binary, so the pointer stays valid as long as the fields need it.
private func literalBytes(_ s: StaticString) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
}
