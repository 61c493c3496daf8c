// The admin request reader without sockets: heads in any split, bodies read and dropped, what is refused.
@testable import Canarygate
import Testing

@Suite struct AdminRequestReaderTests {
    private func feed(_ text: String, pieces: Int = 1) -> [AdminRequestReader.Step] {
        var reader = AdminRequestReader()
        let bytes = Array(text.utf8)
        let size = max(1, (bytes.count + pieces - 1) / pieces)
        return stride(from: 0, to: bytes.count, by: size).map { reader.receive(bytes[$0..<min($0 + size, bytes.count)]) }
    }

    private let statusRequest = AdminRequest(
        method: "GET", path: "/status", query: "", host: "127.0.0.1:9901",
        origin: "http://localhost:9901", authorization: "Bearer abc")

    @Test func aHeadInOnePieceOrByteByByte() {
        let text = "GET /status HTTP/1.1\r\nHost: 127.0.0.1:9901\r\norigin:  http://localhost:9901 \r\nAuthorization: Bearer abc\r\n\r\n"
        #expect(feed(text) == [.complete(statusRequest)])
        let steps = feed(text, pieces: text.utf8.count)
        #expect(steps.last == .complete(statusRequest))
        #expect(steps.dropLast().allSatisfy { $0 == .needMore })
    }

    @Test func theQueryIsSplitOff() {
        guard case .complete(let request)? = feed("POST /routes/web/promote?force=true HTTP/1.1\r\nContent-Length: 0\r\n\r\n").last else {
            Issue.record("not complete")
            return
        }
        #expect(request.path == "/routes/web/promote" && request.query == "force=true" && request.host == nil)
    }

    /// The login form's fields, and its body kept (up to its Content-Length, whatever follows).
    @Test func theLoginFieldsAndTheBodyAreKept() {
        let text =
            "POST /login HTTP/1.1\r\nHost: h:1\r\nCookie: a=1\r\nCookie: b=2\r\nReferer: http://h:1/\r\n"
            + "X-Canarygate-Request: 1\r\nContent-Type: application/x-www-form-urlencoded\r\nSec-Fetch-Site: same-origin\r\n"
            + "Accept: text/html\r\naccept: text/event-stream\r\nContent-Length: 7\r\n\r\ntoken=xEXTRA"
        for pieces in [1, 3, text.utf8.count] {
            guard case .complete(let request)? = feed(text, pieces: pieces).last else {
                Issue.record("not complete in \(pieces) pieces")
                continue
            }
            #expect(request.cookie == "a=1; b=2" && request.referer == "http://h:1/" && request.pageHeader == "1")
            #expect(request.fetchSite == "same-origin" && request.accept == "text/html, text/event-stream")
            #expect(request.body == Array("token=x".utf8), "\(pieces) pieces")
        }
        #expect(
            feed("GET / HTTP/1.1\r\nX-Canarygate-Request: 1\r\nx-canarygate-request: 1\r\n\r\n") == [
                .invalid("more than one X-Canarygate-Request field")
            ])
    }

    /// The body is waited for, wherever the pieces fall; bytes after it are ignored.
    @Test func aBodyIsReadToItsEnd() {
        let text = "POST /reload HTTP/1.1\r\nHost: h:1\r\nContent-Length: 15\r\n\r\n{\"reason\":\"ci\"}"
        for pieces in [1, 2, 3, 7, text.utf8.count] {
            let steps = feed(text, pieces: pieces)
            #expect(steps.last.map { if case .complete = $0 { true } else { false } } == true, "\(pieces) pieces: \(steps)")
            #expect(steps.dropLast().allSatisfy { $0 == .needMore }, "\(pieces) pieces: \(steps)")
        }
        #expect(feed("POST /reload HTTP/1.1\r\nContent-Length: 15\r\n\r\n{\"reason\"") == [.needMore])
    }

    @Test func refusals() {
        let cases: [(String, String)] = [
            ("POST /reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding is not accepted; send Content-Length"),
            ("POST /reload HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", "invalid Content-Length"),
            ("POST /reload HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
            ("POST /reload HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", "body larger than 65536 bytes"),
            ("GET /status HTTP/1.1\r\nHost: a:1\r\nHost: b:1\r\n\r\n", "more than one Host field"),
            ("GET /status HTTP/1.1\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n", "more than one Authorization field"),
            ("GET /status HTTP/1.1\r\nOrigin: http://a\r\nOrigin: http://b\r\n\r\n", "more than one Origin field"),
            ("GET /status\r\n\r\n", "malformed request line"),
            ("GET status HTTP/1.1\r\n\r\n", "malformed request line"),
            ("GET /status HTTP/1.1\r\nno colon\r\n\r\n", "malformed header line"),
        ]
        for (text, reason) in cases {
            #expect(feed(text) == [.invalid(reason)], "\(text.debugDescription)")
        }
    }

    @Test func aHeadBeyond16KiBIsRefusedWithoutWaitingForItsEnd() {
        var reader = AdminRequestReader()
        let line = Array("X-Pad: \(String(repeating: "a", count: 1000))\r\n".utf8)
        #expect(reader.receive(Array("GET /status HTTP/1.1\r\n".utf8)[...]) == .needMore)
        var last = AdminRequestReader.Step.needMore
        for _ in 0..<17 where last == .needMore { last = reader.receive(line[...]) }
        #expect(last == .invalid("request head larger than 16384 bytes"))
    }
}
