// H1ToH2Rules: which HTTP/1.1 requests go to an HTTP/2 arm, the body's payload for DATA, and the framing of the response, without sockets.
import HTTP
@testable import Proxy
import Testing

@Suite struct H1ToH2RulesTests {
    // MARK: the response's framing

    private func plan(
        status: Int = 200, head: Bool = false, length: Bool = false, endedWithHead: Bool = false, minor: UInt8 = 1, close: Bool = false
    ) -> H2ResponseFraming {
        H2ResponseFraming(
            status: status, requestIsHead: head, hasContentLength: length, endedWithHead: endedWithHead, clientVersionMinor: minor,
            closeAfterResponse: close)
    }

    @Test func aLengthIsKept() {
        #expect(plan(length: true).body == .length)
        #expect(plan(length: true).directive == .none)
        #expect(!plan(length: true).closeAfter)
    }

    @Test func withoutALengthAnHTTP11ClientGetsChunked() {
        #expect(plan().body == .chunked)
        #expect(!plan().closeAfter)
    }

    @Test func withoutALengthAnHTTP10ClientGetsABodyUntilClose() {
        let p = plan(minor: 0)
        #expect(p.body == .untilClose)
        #expect(p.closeAfter)
        #expect(p.directive == .close)
    }

    @Test func anHTTP10ClientKeptAliveIsToldSo() {
        #expect(plan(length: true, minor: 0).directive == .keepAlive)
    }

    @Test func headAnd204And304HaveNoBody() {
        #expect(plan(head: true).body == .none)
        #expect(plan(status: 204).body == .none)
        #expect(plan(status: 304, length: true).body == .none)
        #expect(!plan(head: true).zeroLength, "a HEAD response's fields are the GET's")
    }

    @Test func aResponseEndedWithItsHeadDeclaresZeroLength() {
        let p = plan(endedWithHead: true)
        #expect(p.body == .none)
        #expect(p.zeroLength)
        #expect(!plan(length: true, endedWithHead: true).zeroLength)
    }

    @Test func aCloseAskedBeforeIsKept() {
        #expect(plan(length: true, close: true).closeAfter)
        #expect(plan(length: true, close: true).directive == .close)
    }

    // MARK: the request body's payload

    private func decode(_ progress: inout BodyProgress, _ input: String, room: Int) -> (consumed: Int, payload: String, trailer: String)? {
        var out = [UInt8](repeating: 0, count: room)
        var trailer: [UInt8] = []
        let result = Array(input.utf8).withUnsafeBytes { i in
            out.withUnsafeMutableBytes { progress.decode(i, into: $0, trailer: { trailer += $0 }) }
        }
        guard case .success(let moved) = result else { return nil }
        return (moved.consumed, String(decoding: out[0..<moved.produced], as: UTF8.self), String(decoding: trailer, as: UTF8.self))
    }

    @Test func aLengthBodyStopsAtItsLengthLeavingThePipelinedRequest() {
        var p = BodyProgress(.contentLength(5))
        let r = decode(&p, "helloGET / HTTP/1.1", room: 100)
        #expect(r?.consumed == 5)
        #expect(r?.payload == "hello")
        #expect(p.isFullyClassified)
    }

    @Test func aLengthBodyIsBoundedByTheRoom() {
        var p = BodyProgress(.contentLength(10))
        #expect(decode(&p, "0123456789", room: 4)?.payload == "0123")
        #expect(!p.isFullyClassified)
        #expect(decode(&p, "456789", room: 100)?.payload == "456789")
        #expect(p.isFullyClassified)
    }

    @Test func aChunkedBodyIsDecodedAndItsEndFound() {
        var p = BodyProgress(.chunked)
        let r = decode(&p, "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nx-sum: 1\r\n\r\nNEXT", room: 100)
        #expect(r?.payload == "helloabc")
        #expect(r?.trailer == "x-sum: 1\r\n", "the trailer section, for HTTP/2 trailers")
        #expect(r?.consumed == 39, "up to the end of the trailer section, not NEXT")
        #expect(p.isFullyClassified)
    }

    @Test func aChunkedBodyGoesOnPastFramingWhenRoomIsSmall() {
        var p = BodyProgress(.chunked)
        // A room of 2: each feed is at most 2 bytes, and a feed of framing alone produces nothing.
        var payload = ""
        var input = Array("5\r\nhello\r\n0\r\n\r\n".utf8)
        while !p.isFullyClassified, !input.isEmpty, let r = decode(&p, String(decoding: input, as: UTF8.self), room: 2) {
            payload += r.payload
            input.removeFirst(r.consumed)
        }
        #expect(payload == "hello")
        #expect(p.isFullyClassified)
    }

    @Test func trailerFieldsAreSplitLowerCasedAndTrimmed() {
        var section = Array("X-Sum:  abc \r\ncontent-md5:\tq\r\nbroken\r\nE:\r\n".utf8)
        var fields: [String] = []
        section.withUnsafeMutableBytes { bytes in
            forEachTrailerField(bytes) { fields.append(String(decoding: $0, as: UTF8.self) + "=" + String(decoding: $1, as: UTF8.self)) }
        }
        #expect(fields == ["x-sum=abc", "content-md5=q", "e="])
    }

    @Test func aMalformedChunkedBodyIsAnError() {
        var p = BodyProgress(.chunked)
        #expect(decode(&p, "zz\r\n", room: 100) == nil)
    }

    // MARK: gRPC

    @Test func grpcIsToldByItsContentType() {
        func isGRPC(_ head: String) -> Bool {
            let raw = Array(head.utf8)
            var parser = RequestHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
            var request = RequestHead()
            _ = raw.withUnsafeBytes { parser.parse($0, into: &request) }
            return raw.withUnsafeBytes { source in request.withView(source: source) { $0.isGRPC } }
        }
        #expect(isGRPC("POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/grpc\r\n\r\n"))
        #expect(isGRPC("POST / HTTP/1.1\r\nHost: h\r\ncontent-type: Application/GRPC+proto\r\n\r\n"))
        #expect(!isGRPC("POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n\r\n"))
        #expect(!isGRPC("POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/grp\r\n\r\n"))
        #expect(!isGRPC("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
    }
}
