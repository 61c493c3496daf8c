// Chunked bodies as the proxy relays them: sizes bounded, size lines canonical, forbidden trailer fields dropped, across any split.

@testable import HTTP
import Testing

/// Re-frames `raw` split at `cuts`; the bytes emitted and the result (done with the total consumed, or the error).
private func reframeSplit(_ raw: [UInt8], cuts: [Int]) -> (emitted: [UInt8], result: ChunkedScanner.Result?) {
    var scanner = ChunkedScanner()
    var emitted: [UInt8] = []
    var total = 0
    var start = 0
    for end in cuts + [raw.count] where end >= start {
        let piece = Array(raw[start..<end])
        let before = emitted.count
        let result = piece.withUnsafeBytes { scanner.reframe($0) { emitted.append(contentsOf: $0) } }
        // Callers size their output by this promise.
        #expect(emitted.count - before <= piece.count + ChunkedScanner.reframeSlack)
        switch result {
        case .needMore(let consumed): total += consumed
        case .done(let consumed): return (emitted, .done(consumed: total + consumed))
        case .error: return (emitted, result)
        }
        start = end
    }
    return (emitted, nil)
}

@Suite struct ChunkedReframeTests {
    @Test func sizeLinesBecomeCanonical() {
        let raw = bytes("0005;ext=\"a b\"\r\nhello\r\n00A \t;x\r\n0123456789\r\n7FFFFFFF;\r\n")
        let (emitted, result) = reframeSplit(raw, cuts: [])
        #expect(result == nil)
        #expect(String(decoding: emitted, as: UTF8.self) == "5\r\nhello\r\na\r\n0123456789\r\n7fffffff\r\n")
    }

    @Test func theLastChunkAndTrailersEndTheBody() {
        let body = bytes(
            "1\r\nx\r\n0000;end\r\nX-Sum: abc\r\nContent-Length: 9\r\nhost:evil\r\n"
                + "X-A-Name-Longer-Than-Any-Forbidden-One: 1\r\nx-forwarded-for: 1.2.3.4\r\nTE:trailers\r\n\r\n")
        let raw = body + bytes("GET / HTTP/1.1\r\n")
        let (emitted, result) = reframeSplit(raw, cuts: [])
        #expect(result == .done(consumed: body.count))
        #expect(
            String(decoding: emitted, as: UTF8.self)
                == "1\r\nx\r\n0\r\nX-Sum: abc\r\nX-A-Name-Longer-Than-Any-Forbidden-One: 1\r\n\r\n")
    }

    @Test(arguments: ["ffffffffffffffff", "8000000000000000", "80000000", "00000000080000000", "100000000"])
    func sizesPastTheBoundAreRefused(size: String) {
        var scanner = ChunkedScanner()
        let raw = bytes(size + "\r\nabc")
        let result = raw.withUnsafeBytes { scanner.scan($0) }
        guard case .error(let error) = result else {
            Issue.record("\(size) accepted: \(result)")
            return
        }
        #expect(error.status == 400)
        let (emitted, reframed) = reframeSplit(raw, cuts: [])
        #expect(emitted.isEmpty)
        #expect(reframed == result)
    }

    @Test func everyForbiddenFieldIsDroppedWhateverItsCase() {
        for name in [
            "Transfer-Encoding", "CONTENT-LENGTH", "host", "Connection", "keep-alive", "Upgrade", "Proxy-Connection",
            "te", "Trailer", "Authorization", "Proxy-Authenticate", "Proxy-Authentication-Info", "Cookie",
            "Set-Cookie", "If-None-Match", "Range", "Content-Type", "Content-Encoding", "Content-Range",
            "Cache-Control", "Location", "Vary", "Forwarded", "X-Forwarded-Host",
        ] {
            let raw = bytes("0\r\n\(name): v\r\nX-Kept: k\r\n\r\n")
            let (emitted, result) = reframeSplit(raw, cuts: [])
            #expect(result == .done(consumed: raw.count))
            #expect(String(decoding: emitted, as: UTF8.self) == "0\r\nX-Kept: k\r\n\r\n", "\(name)")
        }
    }

    /// Whatever the split, the same bytes come out, and de-chunking them gives the original payload.
    @Test func randomSplitsGiveTheSameBytes() {
        var rng = SeededRandom(seed: 13)
        for _ in 0..<100 {
            var raw: [UInt8] = []
            var canonical: [UInt8] = []
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let size = Int.random(in: 1...300, using: &rng)
                let data = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let zeros = String(repeating: "0", count: Int.random(in: 0...3, using: &rng))
                raw += bytes(zeros + String(size, radix: 16, uppercase: Bool.random(using: &rng)))
                if Bool.random(using: &rng) { raw += bytes(" ;ext=\"v\"") }
                raw += bytes("\r\n") + data + bytes("\r\n")
                canonical += bytes(String(size, radix: 16) + "\r\n") + data + bytes("\r\n")
            }
            raw += bytes("0\r\nHost: h\r\nX-Trailer: t\r\nAuthorization: a\r\n\r\n")
            canonical += bytes("0\r\nX-Trailer: t\r\n\r\n")
            let cuts = (0..<Int.random(in: 0...12, using: &rng))
                .map { _ in Int.random(in: 0...raw.count, using: &rng) }.sorted()
            let (emitted, result) = reframeSplit(raw, cuts: cuts)
            #expect(result == .done(consumed: raw.count))
            #expect(emitted == canonical)
            let (bytewise, _) = reframeSplit(raw, cuts: Array(0..<raw.count))
            #expect(bytewise == canonical)
        }
    }
}
