// A stopped loop leaves nothing behind: connections hold their loop strongly, so shutdown must break every cycle.
@testable import Proxy
import Config
import EventLoop
import Glibc
import HTTP2
import Logging
import Telemetry
import Testing

@Suite(.serialized) struct ShutdownTests {
    /// A client's HTTP/2 stream relayed to an HTTP/2 upstream that never answers, still open when the
    /// loop stops (a drain deadline passed): the loop, the client connection and its stream go away.
    /// Either order of connections in the reactor: the upstream connection opened before or after the client's.
    @Test(arguments: [false, true])
    func aLoopStoppedWithAStreamInFlightIsFreed(upstreamOpenedFirst: Bool) throws {
        let upstream = try SocketDescriptor.listen(on: SocketAddress.resolve(host: "127.0.0.1", port: 0))
        defer { upstream.close() }
        weak var freedLoop: ProxyLoop?
        weak var freedClient: H2Connection?
        var pair: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue), 0, &pair) == 0)
        defer { Glibc.close(pair[1]) }
        do {
            let loop = try makeLoop(
                yaml: """
                    listeners:
                      - name: http
                        address: 127.0.0.1:\(try freePort())
                    routes:
                      - name: grpc
                        primary:
                          revision: v1
                          protocol: h2
                          endpoints: ["127.0.0.1:\(try upstream.localAddress().port)"]
                    """)
            freedLoop = loop
            let pool = loop.upstreams.routes[0].primary.pools[0]
            if upstreamOpenedFirst { _ = try loop.h2Connection(for: pool) }
            let fd = SocketDescriptor(raw: pair[0])
            let client = try H2Connection(
                fd: fd, transport: .plain(fd), peerText: NumericHost(try SocketAddress.resolve(host: "127.0.0.1", port: 0)), input: nil,
                listener: loop.listeners.all[0], proxy: loop)
            freedClient = client
            try loop.loop.reactor.register(fd, client, interest: Reactor.readable)
            try sendRequest(to: pair[1])
            client.drive()
            loop.loop.afterEvents?()
            #expect(pool.h2Connections.count == 1, "the stream went to the HTTP/2 upstream")
            loop.shutdown()
        }
        #expect(freedClient == nil)
        #expect(freedLoop == nil, "a cycle through the loop outlived its shutdown")
    }

    /// A start that fails on its second listener closes the first: its port can be bound again at once.
    @Test func aFailedStartReleasesTheListenersItOpened() throws {
        let held = try SocketDescriptor.listen(on: SocketAddress.resolve(host: "127.0.0.1", port: 0))
        defer { held.close() }
        let first = try freePort()
        let config = """
            listeners:
              - name: a
                address: 127.0.0.1:\(first)
              - name: b
                address: 127.0.0.1:\(try held.localAddress().port)
            routes:
              - name: web
                primary:
                  revision: v1
                  endpoints: ["127.0.0.1:9"]
            """
        #expect(throws: (any Error).self) { _ = try makeLoop(yaml: config) }
        // Bound without SO_REUSEPORT: refused while any socket still listens there.
        let again = try SocketDescriptor.listen(on: SocketAddress.resolve(host: "127.0.0.1", port: first))
        again.close()
    }
}

/// The client preface and one GET, as an HTTP/2 client sends them.
private func sendRequest(to fd: Int32) throws {
    let client = try H2ClientSession(delegate: IgnoredResponses(), settings: H2Settings())
    let fields: [(StaticString, StaticString)] = [(":method", "GET"), (":scheme", "http"), (":authority", "example.com"), (":path", "/")]
    for (name, value) in fields {
        client.addField(
            name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
            value: UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }
    _ = try client.submitRequest(hasBody: false)
    var out = [UInt8](repeating: 0, count: 4096)
    let n = try out.withUnsafeMutableBytes { try client.send(into: $0) }
    try #require(write(fd, out, n) == n)
}

private final class IgnoredResponses: H2ClientDelegate {
    func h2ResponseField(_ stream: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {}
    func h2ResponseHeadersEnded(_ stream: Int32, endStream: Bool) {}
    func h2ResponseData(_ stream: Int32, _ bytes: UnsafeRawBufferPointer) {}
    func h2ResponseEnded(_ stream: Int32) {}
    func h2StreamClosed(_ stream: Int32, errorCode: UInt32) {}
    func h2ReadRequestBody(_ stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> H2BodyRead { .failed }
}
