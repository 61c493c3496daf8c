// Chunked transfer coding through the proxy, request and response side.
import Foundation
import Testing

extension Integration {
    @Suite("Chunked both ways")
    struct Chunked {
        @Test func chunkedUploadIsEchoedBackChunked() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .echo(.chunked))) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client()
                let pieces = [
                    BodyPattern.bytes(count: 1), BodyPattern.bytes(offset: 1, count: 5000),
                    BodyPattern.bytes(offset: 5001, count: 70_000), BodyPattern.bytes(offset: 75_001, count: 17),
                ]
                let expected = pieces.flatMap { $0 }
                let response = try client.exchange(
                    HTTPText.request(
                        "POST", "/echo", headers: [HTTPField("Transfer-Encoding", "chunked")], body: HTTPText.chunked(pieces)))
                #expect(response.status == 200)
                #expect(response.bodyCount == expected.count)
                #expect(byteDiff(response.body, expected) == nil)

                let seen = try #require(upstream.requests.first)
                #expect(seen.framing == .chunked, "upstream saw \(seen.headers)")
                #expect(!seen.headers.has("content-length"))
                #expect(seen.bodyCount == expected.count && seen.bodyMatchesPattern && seen.complete)
                #expect(try client.get("/next").status == 200)
            }
        }

        @Test func chunkedUploadToALengthFramedEcho() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .echo(.contentLength(0)))) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let tiny = (0..<200).map { [UInt8(ascii: "a") + UInt8($0 % 26)] }  // 200 one-byte chunks
                let response = try proxy.fetch(
                    HTTPText.request(
                        "PUT", "/tiny", headers: [HTTPField("Transfer-Encoding", "chunked")], body: HTTPText.chunked(tiny)))
                #expect(response.status == 200)
                #expect(byteDiff(response.body, tiny.flatMap { $0 }) == nil)
            }
        }

        @Test func chunkedResponseReachesTheClientIntact() throws {
            let pieces = ["first ".bytes, BodyPattern.bytes(count: 100_000), [], " last".bytes].filter { !$0.isEmpty }
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .chunked(pieces))) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client()
                for _ in 0..<3 {
                    let response = try client.get("/chunks")
                    #expect(response.status == 200)
                    #expect(byteDiff(response.body, pieces.flatMap { $0 }) == nil)
                    #expect(response.framing != .untilClose, "a chunked response was re-framed as close-delimited")
                }
            }
        }
    }
}
