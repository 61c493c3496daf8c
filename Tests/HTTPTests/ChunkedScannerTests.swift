// Chunked bodies: framing tracked across arbitrary splits, payload recovered by decode, malformations rejected.

@testable import HTTP
import Testing

private func scanWhole(_ raw: [UInt8]) -> ChunkedScanner.Result {
    var scanner = ChunkedScanner()
    return raw.withUnsafeBytes { scanner.scan($0) }
}

/// Scans `raw` split at `cuts`; returns the total consumed when done, the error, or nil if never done.
private func scanSplit(_ raw: [UInt8], cuts: [Int], decoded: inout [UInt8]) -> ChunkedScanner.Result? {
    var scanner = ChunkedScanner()
    var total = 0
    var start = 0
    for end in cuts + [raw.count] where end >= start {
        let piece = Array(raw[start..<end])
        let result = piece.withUnsafeBytes { buffer in
            scanner.decode(buffer) { decoded.append(contentsOf: $0) }
        }
        switch result {
        case .needMore(let consumed):
            #expect(consumed == piece.count)
            total += consumed
        case .done(let consumed):
            return .done(consumed: total + consumed)
        case .error:
            return result
        }
        start = end
    }
    return nil
}

let malformedChunked: [Rejected] = [
    Rejected("non-hex size", "g\r\n"),
    Rejected("empty size", "\r\n"),
    Rejected("negative size", "-1\r\n"),
    Rejected("17 hex digits", "00000000000000001\r\nx\r\n0\r\n\r\n"),
    Rejected("bare LF after size", "5\nhello\r\n0\r\n\r\n"),
    Rejected("CR without LF after size", "5\rhello"),
    Rejected("whitespace after size without extension", "5 \r\nhello\r\n0\r\n\r\n"),
    Rejected("control character in extension", "5;a=\u{1}\r\nhello\r\n0\r\n\r\n"),
    Rejected("bare LF in extension", "5;a\nhello\r\n0\r\n\r\n"),
    Rejected("data longer than size", "5\r\nhello!\r\n0\r\n\r\n"),
    Rejected("bare LF after data", "5\r\nhello\n0\r\n\r\n"),
    Rejected("CR then garbage after data", "5\r\nhello\rX0\r\n\r\n"),
    Rejected("obs-fold in trailer", "0\r\nX-A: 1\r\n 2\r\n\r\n"),
    Rejected("trailer without colon", "0\r\nX-A\r\n\r\n"),
    Rejected("whitespace before colon in trailer", "0\r\nX-A : 1\r\n\r\n"),
    Rejected("empty trailer name", "0\r\n: 1\r\n\r\n"),
    Rejected("control character in trailer", "0\r\nX-A: \u{0}\r\n\r\n"),
    Rejected("bare LF after trailer", "0\r\nX-A: 1\n\r\n"),
    Rejected("bare LF ends the body", "0\r\n\n"),
    Rejected("garbage after last chunk", "0\r\n\rX"),
]

@Suite struct ChunkedScannerTests {
    @Test func simpleBody() {
        let raw = bytes("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        #expect(scanWhole(raw) == .done(consumed: raw.count))
        var payload: [UInt8] = []
        #expect(scanSplit(raw, cuts: [], decoded: &payload) == .done(consumed: raw.count))
        #expect(String(decoding: payload, as: UTF8.self) == "hello world")
    }

    @Test func extensionsTrailersAndHex() {
        let raw = bytes(
            "A;name=value;q=\"a b\"\r\n0123456789\r\n1f ; x\r\n" + String(repeating: "z", count: 31)
                + "\r\n000000000000000\r\nExpires: never\r\nX-Sum: abc\r\n\r\n")
        #expect(scanWhole(raw) == .done(consumed: raw.count))
        let maxDigits = bytes("0000000000000001\r\nq\r\n0\r\n\r\n")
        #expect(scanWhole(maxDigits) == .done(consumed: maxDigits.count))
    }

    @Test func decodingCanKeepTheTrailerSectionApartFromThePayload() {
        let raw = bytes("3\r\nabc\r\n0\r\nX-Sum: 1\r\nContent-Length: 9\r\nGrpc-Status:0\r\n\r\n")
        // Byte by byte: names and values split anywhere still come out whole and in order.
        var scanner = ChunkedScanner()
        var payload: [UInt8] = []
        var trailer: [UInt8] = []
        var result = ChunkedScanner.Result.needMore(consumed: 0)
        for byte in raw {
            result = [byte].withUnsafeBytes { scanner.decode($0, payload: { payload += $0 }, trailer: { trailer += $0 }) }
        }
        #expect(result == .done(consumed: 1))
        #expect(String(decoding: payload, as: UTF8.self) == "abc")
        #expect(String(decoding: trailer, as: UTF8.self) == "X-Sum: 1\r\nGrpc-Status:0\r\n", "forbidden trailers dropped")
    }

    @Test func bytesAfterTheBodyAreNotConsumed() {
        let body = bytes("3\r\nabc\r\n0\r\n\r\n")
        let raw = body + bytes("GET / HTTP/1.1\r\n")
        #expect(scanWhole(raw) == .done(consumed: body.count))
        var scanner = ChunkedScanner()
        _ = raw.withUnsafeBytes { scanner.scan($0) }
        #expect(raw.withUnsafeBytes { scanner.scan($0) } == .done(consumed: 0))
    }

    @Test func incompleteBodyNeedsMore() {
        let raw = bytes("5\r\nhel")
        #expect(scanWhole(raw) == .needMore(consumed: raw.count))
        #expect(scanWhole([]) == .needMore(consumed: 0))
    }

    @Test(arguments: malformedChunked) func malformed(_ fixture: Rejected) {
        var scanner = ChunkedScanner()
        let result = fixture.raw.withUnsafeBytes { scanner.scan($0) }
        guard case .error(let error) = result else {
            Issue.record("accepted: \(result)")
            return
        }
        #expect(error.status == fixture.status)
        // The error is sticky.
        #expect(fixture.raw.withUnsafeBytes { scanner.scan($0) } == result)
    }

    @Test func randomSplitsGiveTheSameTotalsAndPayload() {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<100 {
            var original: [UInt8] = []
            var raw: [UInt8] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let size = Int.random(in: 1...300, using: &rng)
                let data = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
                original += data
                raw += bytes(String(size, radix: 16, uppercase: Bool.random(using: &rng)))
                if Bool.random(using: &rng) { raw += bytes(";ext=\"v\"") }
                raw += bytes("\r\n") + data + bytes("\r\n")
            }
            raw += bytes(Bool.random(using: &rng) ? "0\r\n\r\n" : "0\r\nX-Trailer: t\r\n\r\n")
            let bodyLength = raw.count
            raw += bytes("NEXT")
            let cuts = (0..<Int.random(in: 0...12, using: &rng))
                .map { _ in Int.random(in: 0...raw.count, using: &rng) }.sorted()
            var payload: [UInt8] = []
            #expect(scanSplit(raw, cuts: cuts, decoded: &payload) == .done(consumed: bodyLength))
            #expect(payload == original)
            var bytewise: [UInt8] = []
            #expect(scanSplit(raw, cuts: Array(0..<raw.count), decoded: &bytewise) == .done(consumed: bodyLength))
            #expect(bytewise == original)
        }
    }

    @Test func resetStartsOver() {
        var scanner = ChunkedScanner()
        let bad = bytes("zz")
        #expect(bad.withUnsafeBytes { scanner.scan($0) } != .needMore(consumed: 2))
        scanner.reset()
        let good = bytes("0\r\n\r\n")
        #expect(good.withUnsafeBytes { scanner.scan($0) } == .done(consumed: good.count))
    }
}
