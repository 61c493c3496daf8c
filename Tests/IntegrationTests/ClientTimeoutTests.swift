// The client's own timeouts: an unfinished head (slowloris) gets 408 and a close; an idle keep-alive is closed.
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
    }
}
