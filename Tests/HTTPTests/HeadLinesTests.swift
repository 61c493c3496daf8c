// HeadLines, the loop both head parsers drive: which line is which, the limits, the sticky result, the reset.

@testable import HTTP
import Testing

/// A line as text: "start GET / HTTP/1.1", "field host: h (host)", "end".
private func describe(_ line: HeadLines.Line, in raw: [UInt8]) -> String {
    switch line {
    case .start(let range): "start \(string(range, in: raw)!)"
    case .field(let field, let known): "field \(string(field.name, in: raw)!): \(string(field.value, in: raw)!) (\(known))"
    case .end: "end"
    }
}

/// Every line `next` classifies in `raw`, accepting the first non-empty one as the start line.
private func classify(_ raw: [UInt8], maxHeaderBytes: Int = 8192, maxHeaderCount: Int = 64) throws -> [String] {
    var lines = HeadLines(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    var head = RequestHead()
    _ = lines.begin(&head)
    var seen: [String] = []
    var fields = 0
    try raw.withUnsafeBytes { (p: UnsafeRawBufferPointer) throws in
        while let line = try lines.next(in: p, headerCount: fields) {
            seen.append(describe(line, in: raw))
            switch line {
            case .start(let range): if !range.isEmpty { lines.acceptStartLine() }
            case .field: fields += 1
            case .end: return
            }
        }
    }
    return seen
}

@Suite struct HeadLinesTests {
    @Test func linesAreStartUntilAcceptedThenFieldsThenEnd() throws {
        let raw = bytes("\r\nGET / HTTP/1.1\r\nHost: h\r\nX-A:  1 \r\n\r\nbody")
        #expect(try classify(raw) == ["start ", "start GET / HTTP/1.1", "field Host: h (host)", "field X-A: 1 (other)", "end"])
    }

    @Test func fieldCountLimitIsA431() {
        let raw = bytes("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n")
        #expect(throws: HTTPParseError(status: 431, reason: "too many header fields")) { try classify(raw, maxHeaderCount: 1) }
        #expect((try? classify(raw, maxHeaderCount: 2))?.last == "end")
    }

    @Test func lineSyntaxIsCheckedBeforeTheParserSeesIt() {
        #expect(throws: HTTPParseError.badRequest("bare LF as line terminator")) { try classify(bytes("GET / HTTP/1.1\nA: 1\r\n")) }
        #expect(throws: HTTPParseError.badRequest("whitespace between field name and colon")) {
            try classify(bytes("GET / HTTP/1.1\r\nA : 1\r\n"))
        }
    }

    @Test func incompleteIsTooLargeOnlyOnceTheLimitIsReached() throws {
        let tooLarge = HTTPParseError(status: 431, reason: "head too large")
        let raw = bytes("GET / HTTP/1.1\r\nHost: h\r\n")
        let lines = HeadLines(maxHeaderBytes: raw.count + 1, maxHeaderCount: 64)
        #expect(try raw.withUnsafeBytes { p in try lines.incomplete(p, tooLarge: tooLarge) } == .incomplete)
        let full = HeadLines(maxHeaderBytes: raw.count, maxHeaderCount: 64)
        #expect(throws: tooLarge) { try raw.withUnsafeBytes { p in try full.incomplete(p, tooLarge: tooLarge) } }
    }

    @Test func pendingFoldIsRejectedAmongFieldsOnly() throws {
        let tooLarge = HTTPParseError(status: 431, reason: "head too large")
        var lines = HeadLines(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = RequestHead()
        _ = lines.begin(&head)
        // Where the start line is expected, a line beginning with whitespace is not a fold (the parser judges it).
        let start = bytes(" GET")
        #expect(try start.withUnsafeBytes { p in try lines.incomplete(p, tooLarge: tooLarge) } == .incomplete)
        let raw = bytes("GET / HTTP/1.1\r\nA: 1\r\n b")
        try raw.withUnsafeBytes { (p: UnsafeRawBufferPointer) throws in
            #expect(try lines.next(in: p, headerCount: 0).map { describe($0, in: raw) } == "start GET / HTTP/1.1")
            lines.acceptStartLine()
            #expect(try lines.next(in: p, headerCount: 0).map { describe($0, in: raw) } == "field A: 1 (other)")
            #expect(try lines.next(in: p, headerCount: 1) == nil)
            #expect(throws: HTTPParseError.badRequest("obsolete line folding")) { try lines.incomplete(p, tooLarge: tooLarge) }
        }
    }

    @Test func resultIsStickyAndOnlyTheFirstCallClearsTheHead() throws {
        let raw = bytes("GET / HTTP/1.1\r\n\r\nnext")
        let leftover = HeaderField(
            name: ByteRange(lowerBound: 0, upperBound: 3), value: ByteRange(lowerBound: 4, upperBound: 5),
            isHopByHop: false)
        var lines = HeadLines(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var head = RequestHead()
        head.headers.append(leftover)
        #expect(lines.begin(&head) == nil)
        #expect(head.headers.isEmpty)
        head.headers.append(leftover)
        #expect(lines.begin(&head) == nil)  // mid-head: goes on with what the head holds
        #expect(head.headers == [leftover])
        try raw.withUnsafeBytes { (p: UnsafeRawBufferPointer) throws in
            #expect(try lines.next(in: p, headerCount: 0).map { describe($0, in: raw) } == "start GET / HTTP/1.1")
            lines.acceptStartLine()
            #expect(try lines.next(in: p, headerCount: 0).map { describe($0, in: raw) } == "end")
        }
        #expect(lines.complete(&head) == .complete)
        #expect(head.headLength == raw.count - 4)
        #expect(lines.begin(&head) == .complete)
        lines.reset()
        #expect(lines.begin(&head) == nil)
        #expect(lines.fail(.badRequest("x")) == .error(.badRequest("x")))
        #expect(lines.begin(&head) == .error(.badRequest("x")))
        lines.reset()
        #expect(lines.begin(&head) == nil)
    }
}
