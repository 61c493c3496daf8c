// The pieces of an HTTP/2 stream's response without sockets: the proxy's own body, an HTTP/2 upstream's stored fields and gRPC verdict, a relay's reuse.
import EventLoop
import Testing
@testable import Proxy

@Suite struct H2ResponsePartsTests {
    private let pool = BufferPool(bufferSize: 64)

    @Test func anOwnBodyIsTheMessageAndANewlineAcrossFrames() {
        var own = H2OwnResponse(message: "no route")
        #expect(own.length == 9)
        var out = [UInt8]()
        var frame = [UInt8](repeating: 0, count: 4)
        var last = false
        var frames = 0
        while !last {
            let (n, end) = frame.withUnsafeMutableBytes { own.read(into: $0) }
            out += frame[0..<n]
            last = end
            frames += 1
        }
        #expect(String(decoding: out, as: UTF8.self) == "no route\n")
        #expect(frames == 3)
        let (n, end) = frame.withUnsafeMutableBytes { own.read(into: $0) }
        #expect(n == 0 && end)
    }

    private func add(_ fields: inout H2ResponseFields, _ name: String, _ value: String) {
        Array(name.utf8).withUnsafeBytes { n in Array(value.utf8).withUnsafeBytes { v in fields.add(name: n, value: v, pool: pool) } }
    }

    private func take(_ fields: inout H2ResponseFields) -> [String]? {
        var seen: [String] = []
        let stored = fields.take { seen.append(String(decoding: $0, as: UTF8.self) + ": " + String(decoding: $1, as: UTF8.self)) }
        return stored ? seen : nil
    }

    @Test func theStatusIsReadAndPseudoFieldsAreNotRelayed() {
        var fields = H2ResponseFields()
        #expect(take(&fields) == nil, "nothing stored")
        add(&fields, ":status", "204")
        add(&fields, "x-a", "1")
        #expect(fields.status == 204)
        #expect(!fields.isInvalid)
        #expect(take(&fields) == ["x-a: 1"])
        #expect(take(&fields) == [], "taken once")
        fields.release(pool: pool)
    }

    @Test func anInterimHeadIsDroppedWithItsStatus() {
        var fields = H2ResponseFields()
        add(&fields, ":status", "103")
        add(&fields, "link", "</a>")
        fields.clear(keepingStatus: false)
        #expect(fields.status == 0)
        add(&fields, ":status", "200")
        #expect(take(&fields) == [])
        #expect(fields.status == 200)
        fields.release(pool: pool)
    }

    @Test func aHeadLargerThanABufferIsInvalid() {
        var fields = H2ResponseFields()
        add(&fields, ":status", "200")
        add(&fields, "x-big", String(repeating: "v", count: 80))
        #expect(fields.isInvalid)
        add(&fields, ":status", "200")
        #expect(fields.isInvalid, "stays refused")
        fields.release(pool: pool)
    }

    @Test func aGRPCResponseFailsOnTheServersStatusesOnly() {
        let verdicts = [("0", false), ("5", false), ("2", true), ("4", true), ("13", true), ("14", true), ("15", true), ("1x", false)]
        for (code, failed) in verdicts {
            var fields = H2ResponseFields()
            add(&fields, ":status", "200")
            add(&fields, "content-type", "application/grpc+proto")
            _ = take(&fields)
            add(&fields, "grpc-status", code)
            _ = take(&fields)
            #expect(fields.isGRPC)
            #expect(fields.failedGRPC == failed, "grpc-status \(code)")
            fields.release(pool: pool)
        }
        var plain = H2ResponseFields()
        add(&plain, "content-type", "text/plain")
        add(&plain, "grpc-status", "13")
        _ = take(&plain)
        #expect(!plain.failedGRPC, "not a gRPC response")
        plain.restart()
        #expect(plain.status == 0 && !plain.isGRPC && plain.grpcStatus == -1)
        plain.release(pool: pool)
    }

    /// A relay object serves many exchanges: starting one leaves nothing of the last.
    @Test func anHTTP1RelayStartsClean() {
        let relay = H2HTTP1Relay(maxHeaderBytes: 1024, maxHeaderCount: 10)
        relay.headSubmitted = true
        relay.pending = 7
        relay.deferred = true
        relay.body = .length(remaining: 3)
        relay.response.status = 404
        relay.start(headOut: pool.take(), length: 12, maxHeaderBytes: 2048, maxHeaderCount: 10)
        #expect(!relay.headSubmitted && relay.pending == 0 && !relay.deferred)
        if case .none = relay.body {} else { Issue.record("body progress left over") }
        #expect(relay.response.status == 0)
        #expect(relay.headOutLength == 12)
        #expect(relay.parser.maxHeaderBytes == 2048, "the reloaded limit applies")
        relay.release(pool: pool)
        #expect(relay.headOut == nil && relay.upstream == nil)
    }
}
