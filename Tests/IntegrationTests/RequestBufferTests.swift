// limits.requestBuffer: a small body is read whole before the upstream is connected; a larger one streams once the buffer is full.
import Foundation
import Testing

extension Integration {
    @Suite("Request buffering")
    struct RequestBuffer {
        /// A slow client whose body fits never holds an upstream connection while it sends.
        @Test func aSmallSlowBodyReachesTheUpstreamWhole() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .echo(.contentLength(0)))) }
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream, timeouts: ["requestBody": "5s"], limits: ["requestBuffer": 4096])
            try withProxy(config) { proxy in
                let client = try proxy.client(timeout: 5)
                for (index, chunked) in [false, true].enumerated() {
                    let pieces = (0..<8).map { Array(repeating: UInt8(ascii: "a") + UInt8($0), count: 10) }
                    let framing = chunked ? HTTPField("Transfer-Encoding", "chunked") : HTTPField("Content-Length", "80")
                    try client.send(HTTPText.request("POST", "/small", headers: [framing]))
                    for piece in pieces {
                        Thread.sleep(forTimeInterval: 0.1)  // a slow client: ten bytes every 100 ms
                        #expect(upstream.connectionCount == index, "an upstream connection was opened before the body was whole")
                        try client.send(chunked ? HTTPText.chunk(piece) : piece)
                    }
                    if chunked { try client.send(HTTPText.lastChunk) }
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    #expect(response.body == pieces.flatMap { $0 })
                    #expect(upstream.waitForRequests(index + 1))
                }
            }
        }

        /// A body larger than the buffer streams once the buffer is full.
        @Test func aLargerBodyStreamsOnceTheBufferIsFull() throws {
            let size = 200_000
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .echo(.contentLength(0)))) }
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream, limits: ["requestBuffer": 1024])
            try withProxy(config) { proxy in
                let client = try proxy.client(timeout: 5)
                try client.send(HTTPText.request("POST", "/large", headers: [HTTPField("Content-Length", "\(size)")]))
                try client.send(Array(repeating: UInt8(ascii: "b"), count: 2000))
                // Past the buffer: the upstream is connected while the rest is still to come.
                #expect(Posix.waitUntil(timeout: 3) { upstream.connectionCount == 1 }, "the buffered part never went upstream")
                try client.send(Array(repeating: UInt8(ascii: "b"), count: size - 2000))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.bodyCount == size)
            }
        }

        /// A malformed chunked body is refused while buffering: no upstream is ever connected.
        @Test func aBadChunkWhileBufferingNeverReachesAnUpstream() throws {
            let upstream = try TestUpstream { _ in .text("unreached") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, limits: ["requestBuffer": 4096])) { proxy in
                let client = try proxy.client(timeout: 3)
                try client.send(HTTPText.request("POST", "/bad", headers: [HTTPField("Transfer-Encoding", "chunked")]))
                Thread.sleep(forTimeInterval: 0.1)
                try client.send("ffffffffffffffff\r\nabc")
                #expect(try client.readResponse().status == 400)
                #expect(upstream.connectionCount == 0)
            }
        }
    }
}
