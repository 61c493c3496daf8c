// SIGTERM/SIGINT drain: listeners closed, in-flight requests finish, keep-alive connections closed, exit 0 (1 on a second signal).
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Graceful drain")
    struct Drain {
        /// `/slow` answers after `delay` seconds, anything else at once.
        static func upstream(slowDelay: Double) throws -> TestUpstream {
            try TestUpstream { request in
                request.path == "/slow"
                    ? .respond(UpstreamResponse(body: .fixed("slow done".bytes), delay: slowDelay))
                    : .text("fast")
            }
        }

        @Test(arguments: [SIGTERM, SIGINT])
        func slowInFlightRequestFinishesThenTheProcessExitsZero(signal: Int32) throws {
            let upstream = try Self.upstream(slowDelay: 1)
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 2) { proxy in
                let client = try proxy.client()
                try client.send(HTTPText.request("GET", "/slow"))
                #expect(upstream.waitForRequests(1, timeout: 2), "the slow request never reached the upstream")

                let signalled = Date()
                proxy.signal(signal)
                // The listeners close right away: new connections are refused while the old one drains.
                let refused = Posix.waitUntil(timeout: 1) { Posix.connectRefused(port: proxy.port) }
                #expect(refused, "the listener still accepts 1 s after signal \(signal)")
                #expect(
                    Date().timeIntervalSince(signalled) < 0.5, "listener closed \(Date().timeIntervalSince(signalled)) s after the signal")
                #expect(proxy.isRunning, "the proxy exited with a request in flight (status \(proxy.exitStatus.map(String.init) ?? "?"))")

                let response = try client.readFinalResponse().final
                #expect(response.status == 200 && response.text == "slow done", "\(response.status) \(response.text)")
                #expect(response.announcesClose, "the drained response lacks Connection: close: \(response.headers)")
                #expect(client.waitForPeer(timeout: 2) == .closed)

                let status = proxy.waitForExit(timeout: 5)
                let elapsed = Date().timeIntervalSince(signalled)
                #expect(status == 0, "exit status \(status.map(String.init) ?? "still running after 5 s"); log:\n\(proxy.log.suffix(2048))")
                #expect(elapsed < 3, "exited \(elapsed) s after the signal for a 1 s request")
                #expect(upstream.requestCount == 1)
            }
        }

        @Test func busyKeepAliveClientGetsConnectionCloseAndAnIdleOneIsClosedAtOnce() throws {
            let upstream = try Self.upstream(slowDelay: 1)
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream), threads: 1) { proxy in
                let idle = try proxy.client()
                let first = try idle.get("/")
                #expect(first.status == 200 && !first.announcesClose)
                let busy = try proxy.client()
                #expect(try busy.get("/").status == 200)
                try busy.send(HTTPText.request("GET", "/slow"))
                #expect(upstream.waitForRequests(3, timeout: 2), "the slow request never reached the upstream")

                let signalled = Date()
                proxy.signal(SIGTERM)
                #expect(idle.waitForPeer(timeout: 2) == .closed, "the idle keep-alive connection is not closed")
                let idleClosedAfter = Date().timeIntervalSince(signalled)
                #expect(idleClosedAfter < 0.5, "idle connection closed \(idleClosedAfter) s after SIGTERM, want at once")

                let response = try busy.readFinalResponse().final
                #expect(response.status == 200 && response.text == "slow done", "\(response.status) \(response.text)")
                #expect(
                    response.headers.tokens("connection") == ["close"],
                    "want exactly Connection: close on the drained response, got \(response.headers)")
                #expect(busy.waitForPeer(timeout: 2) == .closed, "the busy connection stays open after its drained response")

                let status = proxy.waitForExit(timeout: 5)
                #expect(status == 0, "exit status \(status.map(String.init) ?? "still running after 5 s")")
            }
        }

        @Test func drainDeadlineEndsAWaitForAnUpstreamThatNeverAnswers() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .fixed("too late".bytes), delay: 30)) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: ["drain": "500ms"]), threads: 1) { proxy in
                let client = try proxy.client()
                try client.send(HTTPText.request("GET", "/never"))
                #expect(upstream.waitForRequests(1, timeout: 2), "the request never reached the upstream")

                let signalled = Date()
                proxy.signal(SIGTERM)
                let status = proxy.waitForExit(timeout: 5)
                let elapsed = Date().timeIntervalSince(signalled)
                #expect(status == 0, "exit status \(status.map(String.init) ?? "still running after 5 s"); log:\n\(proxy.log.suffix(2048))")
                #expect(elapsed >= 0.45, "exited \(elapsed) s after SIGTERM, before the 500ms drain deadline")
                #expect(elapsed < 2, "exited \(elapsed) s after SIGTERM with a 500ms drain deadline")
                #expect(client.waitForPeer(timeout: 1) == .closed)
            }
        }

        @Test(arguments: [SIGTERM, SIGINT])
        func secondSignalDuringTheDrainExitsAtOnceWithStatusOne(second: Int32) throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .fixed("too late".bytes), delay: 30)) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: ["drain": "30s"]), threads: 1) { proxy in
                let client = try proxy.client()
                try client.send(HTTPText.request("GET", "/never"))
                #expect(upstream.waitForRequests(1, timeout: 2), "the request never reached the upstream")

                proxy.signal(SIGTERM)
                // Wait until the drain has begun (listener closed), so the two signals do not coalesce.
                #expect(Posix.waitUntil(timeout: 1) { Posix.connectRefused(port: proxy.port) }, "no drain 1 s after SIGTERM")
                #expect(proxy.isRunning)

                let signalled = Date()
                proxy.signal(second)
                let status = proxy.waitForExit(timeout: 3)
                let elapsed = Date().timeIntervalSince(signalled)
                #expect(status == 1, "exit status \(status.map(String.init) ?? "still running after 3 s"); log:\n\(proxy.log.suffix(2048))")
                #expect(elapsed < 1, "exited \(elapsed) s after the second signal")
                _ = client
            }
        }
    }
}
