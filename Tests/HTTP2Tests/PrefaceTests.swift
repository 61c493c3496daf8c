// The prior-knowledge preface check that decides whether a plain connection speaks HTTP/2.
import HTTP2
import Testing

@Suite struct PrefaceTests {
    private func match(_ text: String) -> HTTP2Preface.Match {
        Array(text.utf8).withUnsafeBytes { HTTP2Preface.match($0) }
    }

    @Test func recognisesThePrefaceAndItsPrefixes() {
        #expect(match("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == .yes)
        #expect(match("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\u{12}\u{4}") == .yes)
        #expect(match("PRI * HTTP/2.0\r\n\r\n") == .needMore)
        #expect(match("P") == .needMore)
    }

    @Test func anHTTP1RequestIsNotThePreface() {
        #expect(match("GET / HTTP/1.1\r\n") == .no)
        #expect(match("PRI * HTTP/1.1\r\n\r\n") == .no)
        #expect(match("POST /x HTTP/1.1\r\n") == .no)
    }
}
