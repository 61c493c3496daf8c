// HTTP/1.1 over TLSSession against curl: a small response, and 1 MiB pushed through partial writes.
import EventLoop
import Foundation
import Glibc
import Testing
import TLS

@Suite("HTTP/1.1 exchanges with curl", .serialized)
struct HTTPExchangeTests {
    /// Serves one request with `body`, returning the curl exit status, what curl saved, and the connection.
    func exchange(body: [UInt8], sendBuffer: Int32? = nil) throws -> (status: Int32?, saved: [UInt8], wantWrites: Int, output: String) {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let context = try TLSContext(keyPairs: [pair.keyPair])
        let listener = try TestListener()
        let client = try ClientProcess(
            "/usr/bin/curl",
            [
                "-sSk", "--http1.1", "--max-time", "10", "-o", dir.file("body"), "https://127.0.0.1:\(listener.port)/",
            ], in: dir, name: "curl")
        var wantWrites = 0
        do {
            let connection = try listener.accept(context: context, until: Deadline(seconds: 10))
            defer { connection.close() }
            // A small kernel send buffer makes the socket fill up, so writes must come back wantWrite.
            if let sendBuffer { try connection.socket.setOption(SOL_SOCKET, SO_SNDBUF, sendBuffer) }
            try connection.handshake()
            let head = try connection.readRequestHead()
            #expect(String(decoding: head, as: UTF8.self).hasPrefix("GET / HTTP/1.1\r\n"))
            let response = Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
            try connection.writeAll(response)
            wantWrites = connection.wantWrites
        } catch {
            Issue.record("server: \(error)")
        }
        let status = client.finish()
        let saved = (try? Data(contentsOf: URL(fileURLWithPath: dir.file("body")))).map { [UInt8]($0) } ?? []
        return (status, saved, wantWrites, client.output)
    }

    @Test func smallResponse() throws {
        let body = Array("hello over TLS\n".utf8)
        let result = try exchange(body: body)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.saved == body)
    }

    @Test func oneMebibyteThroughPartialWrites() throws {
        var generator = SystemRandomNumberGenerator()
        let body = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let result = try exchange(body: body, sendBuffer: 8192)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.saved.count == body.count)
        #expect(result.saved == body)
        #expect(result.wantWrites > 0, "the socket never filled up: the retry path was not exercised")
    }
}
