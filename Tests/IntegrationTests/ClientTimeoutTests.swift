// The client's own timeouts: an unfinished head (slowloris) gets 408 and a close; an idle keep-alive is closed; a slow reader that keeps reading is not idle.
import Foundation
import Testing

extension Integration {
    @Suite("Client timeouts")
    struct ClientTimeouts {
        static let timeouts = ["requestHeader": "300ms", "idle": "300ms"]

        @Test func halfAHeadGets408ThenClose() throws {
            let upstream = try TestUpstream(text: "unreached")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: Self.timeouts)) { proxy in
                let client = try proxy.client(timeout: 3)
                let started = Date()
                try client.send("GET /slow HTTP/1.1\r\nHost: example.test\r\nX-Partial: yes\r\n")
                let response = try client.readResponse()
                let elapsed = Date().timeIntervalSince(started)
                #expect(response.status == 408)
                #expect(elapsed >= 0.25 && elapsed < 3, "408 after \(elapsed) s with a 300ms header timeout")
                #expect(client.waitForPeer(timeout: 3) == .closed, "connection left open after 408")
                #expect(upstream.requestCount == 0)
            }
        }

        /// Bytes that keep trickling in must not extend the deadline: it bounds the whole head.
        @Test func tricklingHeadStillTimesOut() throws {
            let upstream = try TestUpstream(text: "unreached")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: Self.timeouts)) { proxy in
                let client = try proxy.client(timeout: 3)
                let started = Date()
                try client.send("GET /trickle HTTP/1.1\r\nHost: example.test\r\nX-Slow: ")
                var answered = false
                while Date().timeIntervalSince(started) < 3 {
                    if Posix.waitReadable(client.fd, timeout: 0.05) { answered = true; break }
                    do { try client.send("a") } catch { answered = true; break }  // closed under us
                }
                let elapsed = Date().timeIntervalSince(started)
                #expect(answered, "no answer within 3 s while trickling one byte per 50 ms")
                #expect(elapsed < 2, "trickling extended the head deadline to \(elapsed) s")
                if let response = try? client.readResponse() { #expect(response.status == 408) }
                #expect(client.waitForPeer(timeout: 3) == .closed)
                #expect(upstream.requestCount == 0)
            }
        }

        @Test func idleKeepAliveConnectionIsClosed() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: Self.timeouts)) { proxy in
                let client = try proxy.client(timeout: 3)
                #expect(try client.get("/").status == 200)
                let started = Date()
                let state = client.waitForPeer(timeout: 3)
                let elapsed = Date().timeIntervalSince(started)
                #expect(state == .closed, "idle connection was \(state) after 3 s")
                #expect(elapsed >= 0.2 && elapsed < 3, "closed after \(elapsed) s with a 300ms idle timeout")
            }
        }

        /// A connection that is busy (a slow upstream) is not idle: the idle timeout must not cut it.
        @Test func idleTimeoutDoesNotCutAnExchangeInProgress() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .fixed("slow".bytes), delay: 0.8)) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: Self.timeouts.merging(["upstreamResponse": "5s"]) { $1 })) { proxy in
                let client = try proxy.client(timeout: 3)
                let response = try client.get("/")
                #expect(response.status == 200)
                #expect(response.text == "slow")
            }
        }

        /// A client reading a large response more slowly than it arrives keeps the socket full most of the
        /// time; it is idle only if it stops taking bytes. Here it takes 16 MiB at ~8 MiB/s with a 300 ms
        /// idle timeout: the timeout counts from the last bytes it took, not from when the socket first filled.
        @Test func aSlowReaderThatKeepsReadingIsNotCutAtTheIdleTimeout() throws {
            let size = 16 << 20
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .pattern(count: size, chunked: false))) }
            defer { upstream.stop() }
            // An idle timeout of 1 s, half the ~2 s the body takes: long enough that a test process
            // descheduled for a few hundred milliseconds on a loaded machine is not taken for idle,
            // short enough that a proxy counting from the request (not the last bytes taken) cuts it.
            try withProxy(.single(primary: upstream, timeouts: ["requestHeader": "300ms", "idle": "1s"])) { proxy in
                let fd = try Posix.connect(port: proxy.port, timeout: 2)
                defer { close(fd) }
                Posix.setTimeouts(fd, receive: 2, send: 2)
                try Posix.sendAll(fd, HTTPText.request("GET", "/big"))
                var received = 0
                var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                let started = Date()
                // 64 KiB every 8 ms at most: ~8 MiB/s, 2 s for the whole body; bounded at 10 s.
                while Date().timeIntervalSince(started) < 10 {
                    let n = try buffer.withUnsafeMutableBytes { try Posix.receive(fd, into: $0) }
                    if n == 0 { break }
                    received += n
                    if received >= size { break }
                    usleep(8_000)
                }
                // Head (a few hundred bytes) and the whole body, then the connection still open.
                #expect(
                    received >= size,
                    "got \(received) of \(size) body bytes before the proxy closed after \(Date().timeIntervalSince(started)) s")
            }
        }
    }
}
