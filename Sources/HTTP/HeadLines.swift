// The part of HTTP/1.x head parsing both parsers share: phases, size and count limits, sticky failure, line by line.

/// Each parser drives one of these: `begin` at the top of every parse call, `next` for each line (start line,
/// field line or end of head), and `complete`, `incomplete` or `fail` for its result. What a line means is the
/// parser's; which line it is, and the limits, are decided here once.
struct HeadLines: Sendable {
    enum Line {
        /// A line where the start line is expected; the parser calls `acceptStartLine` unless it skips it.
        case start(ByteRange)
        case field(FieldLine, WellKnownField)
        /// The empty line that ends the head; the parser finishes the head, then returns `complete(&head)`.
        case end
    }

    private enum Phase: Sendable, Equatable {
        case idle, startLine, fields, complete
        case failed(HTTPParseError)
    }

    let maxHeaderBytes: Int
    let maxHeaderCount: Int
    private var phase = Phase.idle
    private var lines = LineSplitter()

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// The result to return at once when the head was already finished (or failed); nil to parse on. The
    /// first call of a message clears `head`.
    @inline(__always)
    mutating func begin<Head: ReusableHead>(_ head: inout Head) -> RequestHeadParser.Result? {
        switch phase {
        case .complete: return .complete
        case .failed(let error): return .error(error)
        case .idle:
            head.clearKeepingHeaderCapacity()
            phase = .startLine
            return nil
        case .startLine, .fields:
            return nil
        }
    }

    /// The next complete line of `p`, classified; nil when none is complete yet. A field line is checked against
    /// the field syntax, and `headerCount` (the fields kept so far) against the limit, before the parser sees it.
    @inline(__always)
    mutating func next(in p: UnsafeRawBufferPointer, headerCount: Int) throws(HTTPParseError) -> Line? {
        // Searching only below the limit makes "no end of head within maxHeaderBytes" the too-large condition.
        guard let line = try lines.next(in: p, limit: min(p.count, maxHeaderBytes)) else { return nil }
        if phase == .startLine { return .start(line) }
        if line.isEmpty { return .end }
        let field = try FieldLine.parse(p, line)
        guard headerCount < maxHeaderCount else { throw HTTPParseError(status: 431, reason: "too many header fields") }
        return .field(field, WellKnownField(name: field.name, in: p))
    }

    mutating func acceptStartLine() {
        phase = .fields
    }

    @inline(__always)
    mutating func complete<Head: ReusableHead>(_ head: inout Head) -> RequestHeadParser.Result {
        head.headLength = lines.lineStart
        phase = .complete
        return .complete
    }

    /// After `next` found no more complete lines: `tooLarge` if the head can no longer end within the limit.
    @inline(__always)
    func incomplete(_ p: UnsafeRawBufferPointer, tooLarge: HTTPParseError) throws(HTTPParseError) -> RequestHeadParser.Result {
        if p.count >= maxHeaderBytes { throw tooLarge }
        if phase == .fields && lines.pendingLineStartsWithWhitespace(p, limit: min(p.count, maxHeaderBytes)) {
            throw .badRequest("obsolete line folding")
        }
        return .incomplete
    }

    /// Records `error` (as the caller reports it): every later call returns it until `reset`.
    mutating func fail(_ error: HTTPParseError) -> RequestHeadParser.Result {
        phase = .failed(error)
        return .error(error)
    }

    mutating func reset() {
        phase = .idle
        lines = LineSplitter()
    }
}
