// The admin page over real sockets: the page and its policy, GET /events (snapshot, updates, bounds, stop), and the
// browser login with its cookie and CSRF rules.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Admin page and event stream")
    struct AdminPage {
        private func call(
            _ proxy: ProxyProcess, _ method: String, _ path: String, headers: [HTTPField] = [], body: String? = nil
        ) throws -> ClientResponse {
            let request = HTTPText.request(
                method, path, host: "127.0.0.1:\(proxy.adminPort)", headers: headers,
                body: body.map { Array($0.utf8) } ?? (method == "POST" ? [] : nil))
            return try RawClient.fetch(port: proxy.adminPort, request, method: method)
        }

        private func metric(_ proxy: ProxyProcess, _ name: String, _ labels: [String: String] = [:]) throws -> Double? {
            try PromText(try proxy.admin("/metrics").text).value(name, labels)
        }

        @Test func thePageIsSelfContainedUnderAStrictPolicy() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let page = try call(proxy, "GET", "/")
                #expect(page.status == 200 && page.headers["content-type"] == "text/html; charset=utf-8", "\(page.status) \(page.headers)")
                let policy = try #require(page.headers["content-security-policy"])
                for directive in [
                    "default-src 'none'", "connect-src 'self'", "img-src data:", "form-action 'self'", "frame-ancestors 'none'",
                ] {
                    #expect(policy.contains(directive), "\(policy)")
                }
                let nonce = try #require(policy.firstMatch(of: /script-src 'nonce-([A-Za-z0-9+\/=]+)'/)?.1)
                #expect(policy.contains("style-src 'nonce-\(nonce)'"))
                #expect(page.text.contains("<script nonce=\"\(nonce)\">") && page.text.contains("<style nonce=\"\(nonce)\">"))
                #expect(page.headers["cache-control"] == "no-store")
                // Nothing is fetched from elsewhere: no URL with a scheme in any src or href.
                #expect(page.text.firstMatch(of: /(src|href)="[a-z]+:\/\//) == nil)
                let initial = try #require(page.text.firstMatch(of: /<script type="application\/json" id="initial">(.*?)<\/script>/)?.1)
                let json = try #require(try JSONSerialization.jsonObject(with: Data(initial.utf8)) as? [String: Any])
                #expect(json["role"] as? String == "operator", "no operator token: whoever passes the Host check is an operator")
                #expect((json["status"] as? [String: Any])?["routes"] is [Any] && json["timeline"] is [String: Any])
                #expect(page.text.contains("data-route=\"web\""), "the route is rendered on the server")
                let again = try call(proxy, "GET", "/")
                #expect(again.headers["content-security-policy"] != policy, "a nonce per response")
                #expect(try call(proxy, "POST", "/").status == 405)
            }
        }

        @Test func theStreamStartsWithASnapshotThenUpdatesEverySecond() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let stream = try EventStreamClient(port: proxy.adminPort)
                #expect(stream.status == 200)
                #expect(stream.headers["content-type"] == "text/event-stream" && stream.headers["cache-control"] == "no-store")
                let first = try #require(try stream.next())
                #expect(first.event == "snapshot")
                let snapshot = try #require(first.json)
                #expect((snapshot["status"] as? [String: Any])?["routes"] is [Any], "\(first.data.prefix(300))")
                #expect((snapshot["timeline"] as? [String: Any])?["now"] is Double, "\(first.data.prefix(300))")
                var times: [Date] = []
                for _ in 0..<3 {
                    let update = try #require(try stream.next())
                    #expect(update.event == "update" && update.json?["status"] != nil && update.json?["timeline"] != nil)
                    times.append(update.receivedAt)
                }
                for (a, b) in zip(times, times.dropFirst()) {
                    let gap = b.timeIntervalSince(a)
                    #expect(gap > 0.5 && gap < 2, "updates \(gap) s apart")
                }
                #expect(try call(proxy, "GET", "/healthz").status == 200)
                #expect(try metric(proxy, "canarygate_admin_event_streams") == 1)
            }
        }

        /// A reader that stops reading is dropped once more than 1 MiB waits for it (besides the stream's socket
        /// buffer), while /healthz answers and a reading client keeps its updates. Routes with many endpoints make each
        /// update large (about 130 KB), so the bound is reached in seconds. /healthz may wait for an update being
        /// rendered (0.1 to 0.4 s for these routes in a debug build on a busy machine), hence its 3 s bound; a loop
        /// that waited for the stalled client would not answer at all. The drop is seen in the kernel's socket
        /// table: /metrics over so many routes takes a second to render in a debug build, and would hold the loop.
        @Test func aStalledReaderIsDroppedAndDelaysNothing() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let endpoints = (1...30).map { "127.0.0.1:\($0)" }
            let routes = (0..<120).map { i in
                RouteSpec("route-\(i)", pathPrefix: "/r\(i)/", primary: ArmSpec("v1", [upstream.endpoint] + endpoints))
            }
            try withProxy(ProxyConfig(routes: routes)) { proxy in
                #expect(try call(proxy, "GET", "/healthz").status == 200)
                let stalled = try EventStreamClient(port: proxy.adminPort, receiveBuffer: 4096, read: false)
                let reader = try EventStreamClient(port: proxy.adminPort)
                let received = Guarded(0)
                let readerDone = Guarded(false)
                let thread = Thread {
                    while (try? reader.next()) != nil { received.withValue { $0 += 1 } }
                    readerDone.withValue { $0 = true }
                }
                thread.start()
                defer {
                    // Ends the thread's read first, and frees the descriptor only once the thread is gone: closed under
                    // it, the number could be reused by a parallel test and read from here.
                    shutdown(reader.fd, Int32(SHUT_RDWR))
                    #expect(Posix.waitUntil(timeout: 10) { readerDone.withValue { $0 } }, "the reader thread did not end")
                    reader.close()
                }

                var slowest = 0.0
                let dropped = Posix.waitUntil(timeout: 60) {
                    let start = Date()
                    let health = try? call(proxy, "GET", "/healthz")
                    slowest = max(slowest, Date().timeIntervalSince(start))
                    #expect(health?.status == 200)
                    return stalled.serverClosed(adminPort: proxy.adminPort)
                }
                #expect(dropped, "the stalled reader was not dropped")
                #expect(slowest < 3, "/healthz took \(slowest) s while a stream stalled")
                let before = received.withValue { $0 }
                #expect(before > 3, "the reading client got \(before) messages")
                #expect(Posix.waitUntil(timeout: 5) { received.withValue { $0 } > before }, "the reading client stopped getting updates")
                #expect(!readerDone.withValue { $0 }, "the reading client was dropped too")
                #expect(stalled.drainUntilClosed(timeout: 15), "the stalled reader's connection is closed")
                let metrics = try PromText(try proxy.admin("/metrics").text)
                #expect(metrics.value("canarygate_admin_event_streams_dropped_total", ["reason": "slow"]) == 1)
                #expect(metrics.value("canarygate_admin_event_streams") == 1)
            }
        }

        @Test func theOldestStreamMakesRoomPastSixteen() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let oldest = try EventStreamClient(port: proxy.adminPort)
                var others: [EventStreamClient] = []
                for _ in 0..<16 { others.append(try EventStreamClient(port: proxy.adminPort)) }
                #expect(oldest.drainUntilClosed(timeout: 5), "the oldest stream is closed for the 17th")
                for client in others {
                    #expect(try client.next()?.event == "snapshot")
                }
                #expect(try metric(proxy, "canarygate_admin_event_streams") == 16)
                #expect(try metric(proxy, "canarygate_admin_event_streams_dropped_total", ["reason": "excess"]) == 1)
                #expect(try call(proxy, "GET", "/status").status == 200, "streams do not take the request connections' places")
            }
        }

        @Test func streamsAreClosedWhenTheProxyStops() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let stream = try EventStreamClient(port: proxy.adminPort)
                #expect(try stream.next()?.event == "snapshot")
                proxy.signal(SIGTERM)
                #expect(stream.drainUntilClosed(timeout: 10), "the stream outlived the proxy's stop")
                #expect(proxy.waitForExit(timeout: 10) == 0)
            }
        }

        // MARK: - Login, cookie, CSRF

        private func installTokens(_ proxy: ProxyProcess) throws {
            try AdminTestTokens.install(dir: proxy.dir, configFile: proxy.configFile, adminPort: proxy.adminPort) {
                try proxy.adminPost("/reload")
            }
        }

        /// Logs in with `token` as the login form does; the `Cookie` field to send afterwards.
        private func login(_ proxy: ProxyProcess, _ token: String) throws -> String {
            let origin = HTTPField("Origin", "http://127.0.0.1:\(proxy.adminPort)")
            let answer = try call(
                proxy, "POST", "/login", headers: [origin, HTTPField("Content-Type", "application/x-www-form-urlencoded")],
                body: "token=\(token)")
            try #require(answer.status == 303 && answer.headers["location"] == "/", "login: \(answer.status) \(answer.text)")
            let set = try #require(answer.headers["set-cookie"])
            #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "\(set)")
            #expect(!set.contains(token), "the token itself is never in the cookie")
            return String(set.prefix { $0 != ";" })
        }

        /// A stream is checked when it connects, but must not outlive its credential: a reload that rotates a
        /// token closes every stream (the browser reconnects and is checked again), one that keeps them does not.
        @Test func aReloadThatChangesTheTokensClosesTheStreams() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream)
            try withProxy(config) { proxy in
                try installTokens(proxy)
                let port = proxy.adminPort
                let bearer = HTTPField("Authorization", "Bearer \(AdminTestTokens.readerToken)")
                let cookie = HTTPField("Cookie", try login(proxy, AdminTestTokens.readerToken))
                let streams = [try EventStreamClient(port: port, headers: [bearer]), try EventStreamClient(port: port, headers: [cookie])]
                for stream in streams {
                    #expect(stream.status == 200)
                    #expect(try stream.next()?.event == "snapshot")
                }
                let reload = HTTPField("Authorization", "Bearer \(AdminTestTokens.operatorToken)")
                #expect(try call(proxy, "POST", "/reload", headers: [reload]).status == 200)
                for stream in streams {
                    #expect(try stream.next()?.event == "update", "a reload with the same tokens keeps the stream")
                    #expect(try stream.next()?.event == "update")
                }

                _ = try proxy.dir.write("reader.token", "reader-rotated-0123456789\n")
                #expect(try call(proxy, "POST", "/reload", headers: [reload]).status == 200)
                for stream in streams {
                    #expect(stream.drainUntilClosed(timeout: 5), "the stream outlived its token's rotation")
                }
                #expect(try EventStreamClient(port: port, headers: [bearer]).status == 401, "the old token is checked again and refused")
                #expect(try EventStreamClient(port: port, headers: [cookie]).status == 401, "so is its cookie")
                let fresh = HTTPField("Authorization", "Bearer reader-rotated-0123456789")
                #expect(try EventStreamClient(port: port, headers: [fresh]).status == 200)
            }
        }

        @Test func theLoginCookieStandsForTheTokenAndChangesNeedThePagesProof() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream)
            try withProxy(config) { proxy in
                try installTokens(proxy)
                let port = proxy.adminPort
                let own = HTTPField("Origin", "http://127.0.0.1:\(port)")
                let pageHeader = HTTPField("X-Canarygate-Request", "1")

                // Without a session: the page sends the browser to the form; the API answers 401.
                let anonymous = try call(proxy, "GET", "/")
                #expect(anonymous.status == 303 && anonymous.headers["location"] == "/login", "\(anonymous.status) \(anonymous.headers)")
                #expect(try call(proxy, "GET", "/events").status == 401)
                let form = try call(proxy, "GET", "/login")
                #expect(form.status == 200 && form.text.contains("name=\"token\"") && form.headers["content-security-policy"] != nil)
                #expect(try call(proxy, "POST", "/login", headers: [own], body: "token=wrong-0123456789abcdef").status == 401)
                #expect(
                    try call(proxy, "POST", "/login", body: "token=\(AdminTestTokens.operatorToken)").status == 403, "a login from no page")
                #expect(
                    try call(
                        proxy, "POST", "/login", headers: [HTTPField("Origin", "http://evil.example")],
                        body: "token=\(AdminTestTokens.operatorToken)"
                    )
                    .status == 403)

                // A reader's session reads, sees no buttons, changes nothing.
                let reader = HTTPField("Cookie", try login(proxy, AdminTestTokens.readerToken))
                let readerPage = try call(proxy, "GET", "/", headers: [reader])
                #expect(readerPage.status == 200 && readerPage.text.contains("data-role=\"reader\""), "\(readerPage.status)")
                #expect(try call(proxy, "GET", "/status", headers: [reader]).status == 200)
                #expect(try EventStreamClient(port: port, headers: [reader]).status == 200)
                #expect(try call(proxy, "POST", "/reload", headers: [reader, own, pageHeader]).status == 403)

                // An operator's session changes things only with the page's proof.
                let op = HTTPField("Cookie", try login(proxy, AdminTestTokens.operatorToken))
                #expect(try call(proxy, "GET", "/", headers: [op]).text.contains("data-role=\"operator\""))
                let before = try call(proxy, "GET", "/status", headers: [op])
                #expect(before.status == 200)
                let noHeader = try call(proxy, "POST", "/reload", headers: [op, own])
                #expect(noHeader.status == 403 && noHeader.text.contains("X-Canarygate-Request"), "\(noHeader.status) \(noHeader.text)")
                #expect(try call(proxy, "POST", "/reload", headers: [op, pageHeader]).status == 403, "no Origin or Referer")
                #expect(
                    try call(proxy, "POST", "/reload", headers: [op, pageHeader, HTTPField("Origin", "http://evil.example")]).status == 403)
                #expect(try call(proxy, "POST", "/reload", headers: [op, own, pageHeader]).status == 200)
                #expect(
                    try call(proxy, "POST", "/reload", headers: [op, pageHeader, HTTPField("Referer", "http://127.0.0.1:\(port)/")]).status
                        == 200)
                // A forged or foreign cookie is no session.
                #expect(
                    try call(proxy, "GET", "/status", headers: [HTTPField("Cookie", "canarygate_session=operator.9999999999.00")]).status
                        == 401)
                // The bearer token works as before, without the page's header.
                #expect(
                    try call(proxy, "POST", "/reload", headers: [HTTPField("Authorization", "Bearer \(AdminTestTokens.operatorToken)")])
                        .status == 200)

                let logout = try call(proxy, "POST", "/logout", headers: [op, own])
                #expect(logout.status == 303 && logout.headers["set-cookie"]?.contains("Max-Age=0") == true, "\(logout.headers)")
            }
        }
    }
}
