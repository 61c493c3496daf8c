// The line loop both HTTP/1.x head parsers run (phases, size and count limits, sticky failure); a grammar reads each line.

/// What one kind of head makes of its lines. `HeadParser` hands it the start line (until it accepts one), each
/// field line, then the end of the head; the grammar keeps whatever it needs between them (framing fields, counts).
protocol HeadGrammar: Sendable {
    associatedtype Head: ReusableHead
    /// What the caller knows that the head does not say (for a response, the method of its request).
    associatedtype Context
    init()
    /// Thrown when no end of head is found within `maxHeaderBytes`.
    static var headTooLarge: HTTPParseError { get }
    /// The failure as the caller sees it: a response's faults are the upstream's, so its grammar makes every one a 502.
    static func reported(_ error: HTTPParseError) -> HTTPParseError
    /// Parses the start line, or returns false to skip `line` and take the next one as the start line.
    mutating func startLine(_ p: UnsafeRawBufferPointer, _ line: ByteRange, _ head: inout Head) throws(HTTPParseError) -> Bool
    mutating func addField(
        _ p: UnsafeRawBufferPointer, _ field: FieldLine, _ known: WellKnownField, _ head: inout Head
    ) throws(HTTPParseError)
    /// At the empty line: the head-wide rules, framing and persistence.
    mutating func finish(_ p: UnsafeRawBufferPointer, _ context: Context, _ head: inout Head) throws(HTTPParseError)
}

/// Generic only to be specialised: each public parser wraps one concrete `HeadParser`, so nothing is dispatched
/// at run time.
struct HeadParser<Grammar: HeadGrammar>: Sendable {
    private enum Phase: Sendable, Equatable {
        case idle, startLine, fields, complete
        case failed(HTTPParseError)
    }

    let maxHeaderBytes: Int
    let maxHeaderCount: Int
    private var phase = Phase.idle
    private var lines = LineSplitter()
    private var grammar = Grammar()

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// The contract of `RequestHeadParser.parse`.
    @inline(__always)
    mutating func parse(
        _ bytes: UnsafeRawBufferPointer, _ context: Grammar.Context, into head: inout Grammar.Head
    ) -> RequestHeadParser.Result {
        switch phase {
        case .complete: return .complete
        case .failed(let error): return .error(error)
        case .idle:
            head.clearKeepingHeaderCapacity()
            phase = .startLine
        case .startLine, .fields:
            break
        }
        do {
            return try advance(bytes, context, &head)
        } catch {
            let reported = Grammar.reported(error)
            phase = .failed(reported)
            return .error(reported)
        }
    }

    mutating func reset() {
        phase = .idle
        lines = LineSplitter()
        grammar = Grammar()
    }

    private mutating func advance(
        _ p: UnsafeRawBufferPointer, _ context: Grammar.Context, _ head: inout Grammar.Head
    ) throws(HTTPParseError) -> RequestHeadParser.Result {
        // Searching only below the limit makes "no end of head within maxHeaderBytes" the too-large condition.
        let limit = min(p.count, maxHeaderBytes)
        while let line = try lines.next(in: p, limit: limit) {
            if phase == .startLine {
                if try grammar.startLine(p, line, &head) { phase = .fields }
            } else if line.isEmpty {
                try grammar.finish(p, context, &head)
                head.headLength = lines.lineStart
                phase = .complete
                return .complete
            } else {
                let field = try FieldLine.parse(p, line)
                guard head.headers.count < maxHeaderCount else {
                    throw HTTPParseError(status: 431, reason: "too many header fields")
                }
                try grammar.addField(p, field, WellKnownField(name: field.name, in: p), &head)
            }
        }
        if p.count >= maxHeaderBytes { throw Grammar.headTooLarge }
        if phase == .fields && lines.pendingLineStartsWithWhitespace(p, limit: limit) {
            throw .badRequest("obsolete line folding")
        }
        return .incomplete
    }
}
