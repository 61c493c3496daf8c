// A request as routing sees it, whichever protocol carried it: method, authority, path, fields and cookies, borrowed, never copied.

/// Both request forms produce one (`RequestHead.withView`, `FieldRequest.withView`), so what is decided
/// on a request — its route, its arm, and later matches by header, cookie and method — is written once
/// and answers the same for the same request over HTTP/1.1 and HTTP/2. Every byte it hands out is a
/// slice of the request's own buffer, valid only inside the `withView` closure.
///
/// The fields it shows are the request's end-to-end fields: not Host (that is `authority`), not Cookie
/// (`cookie(_:)`), and not the fields that describe one connection (Connection and those it names,
/// Keep-Alive, TE, Transfer-Encoding, Upgrade, Trailer, Proxy-Connection, Expect) or that the proxy
/// writes itself (X-Forwarded-For/-Proto/-Host, Forwarded): HTTP/2 has none of the former, and the
/// latter are not the client's to choose.
public struct RequestView {
    public let method: HTTPMethod
    /// The Host value or the authority of the target (HTTP/1.1 absolute-form; HTTP/2 `:authority`, else
    /// `host`), with its port if one was sent; nil when the request has none.
    public let authority: UnsafeRawBufferPointer?
    /// The target's path, without its query; empty for an HTTP/1.1 absolute-form target with no path ("/").
    public let path: UnsafeRawBufferPointer
    /// Where the method's token lies in `source`, for a method `HTTPMethod` names `.other`.
    private let methodRange: ByteRange
    private let source: UnsafeRawBufferPointer
    private let fields: Fields

    @usableFromInline
    enum Fields {
        /// HTTP/1.1: the parser's ranges into `source`, names as the client spelled them.
        case parsed(UnsafeBufferPointer<HeaderField>)
        /// HTTP/2: ready-made "name: value\r\n" lines in `source` (lower-case names, validated by the
        /// decoder), and the cookie values kept apart (RFC 9113 §8.2.3 lets a client split them).
        case lines(ByteRange?, cookies: UnsafeBufferPointer<ByteRange>)
    }

    @usableFromInline
    init(
        method: HTTPMethod, methodRange: ByteRange, authority: UnsafeRawBufferPointer?, path: UnsafeRawBufferPointer,
        source: UnsafeRawBufferPointer, fields: Fields
    ) {
        self.method = method
        self.methodRange = methodRange
        self.authority = authority
        self.path = path
        self.source = source
        self.fields = fields
    }

    /// The method's token as sent (case-sensitive): what tells one `.other` method from another.
    public var methodName: UnsafeRawBufferPointer { source.slice(methodRange) }

    /// Calls `body` with each end-to-end field (see the type's comment), in received order.
    public func forEachField(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) {
        switch fields {
        case .parsed(let headers):
            for field in headers where Self.isEndToEnd(field, in: source) {
                body(source.slice(field.name), source.slice(field.value))
            }
        case .lines(let lines, _):
            guard let lines else { return }
            var i = lines.lowerBound
            while i < lines.upperBound {
                // "name: value\r\n": names hold no ':' and values no CR or LF (the decoder checked).
                var colon = i
                while source[colon] != UInt8(ascii: ":") { colon += 1 }
                var end = colon + 2
                while source[end] != ASCII.cr { end += 1 }
                body(
                    source.slice(ByteRange(lowerBound: i, upperBound: colon)),
                    source.slice(ByteRange(lowerBound: colon + 2, upperBound: end)))
                i = end + 2
            }
        }
    }

    /// The value of the first end-to-end field named `lowercaseName` (compared case-insensitively), or nil.
    public func field(_ lowercaseName: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var found: UnsafeRawBufferPointer?
        forEachField { name, value in
            if found == nil && Self.sameName(name, lowercaseName) { found = value }
        }
        return found
    }

    /// The value of the first cookie named `name` (case-sensitive, as cookie names are), or nil.
    /// Cookie fields hold "name=value" pairs separated by ";" and optional whitespace (RFC 6265 §4.2.1).
    public func cookie(_ name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var found: UnsafeRawBufferPointer?
        forEachCookieField { value in
            if found == nil { found = Self.cookie(name, in: value) }
        }
        return found
    }

    /// `cookie(first)` and `cookie(second)` in one pass over the Cookie fields (session affinity reads two).
    public func cookies(
        _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer
    ) -> (first: UnsafeRawBufferPointer?, second: UnsafeRawBufferPointer?) {
        var found: (first: UnsafeRawBufferPointer?, second: UnsafeRawBufferPointer?) = (nil, nil)
        forEachCookieField { value in
            if found.first == nil { found.first = Self.cookie(first, in: value) }
            if found.second == nil { found.second = Self.cookie(second, in: value) }
        }
        return found
    }

    private func forEachCookieField(_ body: (UnsafeRawBufferPointer) -> Void) {
        switch fields {
        case .parsed(let headers):
            for field in headers where field.wellKnown == .other && ASCII.equalsIgnoringCase(source, field.name, "cookie") {
                body(source.slice(field.value))
            }
        case .lines(_, let cookies):
            for range in cookies { body(source.slice(range)) }
        }
    }

    private static func cookie(_ name: UnsafeRawBufferPointer, in pairs: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var start = 0
        while start < pairs.count {
            var end = start
            while end < pairs.count && pairs[end] != UInt8(ascii: ";") { end += 1 }
            var i = start
            while i < end && ASCII.isOWS(pairs[i]) { i += 1 }
            var stop = end
            while stop > i && ASCII.isOWS(pairs[stop - 1]) { stop -= 1 }
            if stop - i > name.count && pairs[i + name.count] == UInt8(ascii: "=")
                && UnsafeRawBufferPointer(rebasing: pairs[i..<(i + name.count)]).elementsEqual(name)
            {
                return UnsafeRawBufferPointer(rebasing: pairs[(i + name.count + 1)..<stop])
            }
            start = end + 1
        }
        return nil
    }

    private static func isEndToEnd(_ field: HeaderField, in source: UnsafeRawBufferPointer) -> Bool {
        switch field.wellKnown {
        case .host, .expect: return false
        case .other: return !field.isHopByHop && !ASCII.equalsIgnoringCase(source, field.name, "cookie")
        default: return !field.isHopByHop
        }
    }

    /// `name` equals the lower-case `lowercase`, ignoring the case of letters.
    private static func sameName(_ name: UnsafeRawBufferPointer, _ lowercase: UnsafeRawBufferPointer) -> Bool {
        guard name.count == lowercase.count else { return false }
        for k in 0..<name.count {
            let c = name[k]
            if c != lowercase[k] && (!ASCII.isLetter(c) || c | 0x20 != lowercase[k]) { return false }
        }
        return true
    }
}

extension RequestHead {
    /// Calls `body` with the view of this parsed head; `source` is the buffer it was parsed from.
    /// Inlinable, so that it is specialised and inlined where a request is routed. `mutating` only so
    /// that a head stored in an object is lent in place: a non-mutating call on it copies the head
    /// first, retaining its field array (callgrind: 70 instructions a request). It changes nothing.
    @inlinable
    public mutating func withView<Result>(source: UnsafeRawBufferPointer, _ body: (RequestView) -> Result) -> Result {
        headers.withUnsafeBufferPointer { headers in
            body(
                RequestView(
                    method: method, methodRange: methodRange, authority: host.map { source.slice($0) }, path: source.slice(path),
                    source: source, fields: .parsed(headers)))
        }
    }
}

extension FieldRequest {
    /// Calls `body` with the view of these fields; `source` is the scratch they were collected in.
    /// `mutating` for the reason `RequestHead.withView` is: lent in place, never copied; nothing changes.
    @inlinable
    public mutating func withView<Result>(source: UnsafeRawBufferPointer, _ body: (RequestView) -> Result) -> Result {
        let lines = linesStart < 0 ? nil : ByteRange(lowerBound: linesStart, upperBound: linesEnd)
        return cookies.withUnsafeBufferPointer { cookies in
            body(
                RequestView(
                    method: method, methodRange: methodRange ?? ByteRange(lowerBound: 0, upperBound: 0),
                    authority: authority.map { source.slice($0) }, path: path(in: source), source: source,
                    fields: .lines(lines, cookies: cookies)))
        }
    }
}
