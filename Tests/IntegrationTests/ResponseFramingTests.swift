// Responses without bodies (HEAD, 204, 304), 100-continue, and close-delimited responses through the proxy.
import Foundation
import Testing

extension Integration {
    @Suite("Response framing")
    struct ResponseFraming {
        static func bodylessUpstream() throws -> TestUpstream {
            try TestUpstream { request in
                switch (request.method, request.path) {
                case ("HEAD", _):
                    return .respond(
                        UpstreamResponse(
                            headers: [
                                HTTPField("Content-Length", "1234"),
                                HTTPField("Content-Type", "text/plain"),
                            ], body: .none))
                case (_, "/204"):
                    return .respond(UpstreamResponse(status: 204, body: .none))
                case (_, "/304"):
                    return .respond(UpstreamResponse(status: 304, headers: [HTTPField("ETag", "\"v1\"")], body: .none))
                default:
                    return .text("full body \(request.target)")
                }
            }
        }

        @Test func bodylessResponsesKeepTheConnectionUsable() throws {
            let upstream = try Self.bodylessUpstream()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                let head = try client.exchange(HTTPText.request("HEAD", "/doc"), method: "HEAD")
                #expect(head.status == 200)
                #expect(head.headers["content-length"] == "1234", "HEAD must keep the representation's length")
                #expect(try client.get("/after-head").text == "full body /after-head")

                let noContent = try client.get("/204")
                #expect(noContent.status == 204)
                #expect(noContent.body.isEmpty)
                #expect(try client.get("/after-204").text == "full body /after-204")

                let notModified = try client.get("/304", headers: [HTTPField("If-None-Match", "\"v1\"")])
                #expect(notModified.status == 304)
                #expect(notModified.headers["etag"] == "\"v1\"")
                #expect(try client.get("/after-304").text == "full body /after-304")
                #expect(client.waitForPeer(timeout: 0.1) == .open)
            }
        }

        @Test func bodylessResponsesPipelined() throws {
            let upstream = try Self.bodylessUpstream()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                try client.send(
                    HTTPText.request("HEAD", "/a") + HTTPText.request("GET", "/204")
                        + HTTPText.request("GET", "/304") + HTTPText.request("GET", "/last"))
                #expect(try client.readResponse(method: "HEAD").status == 200)
                #expect(try client.readResponse().status == 204)
                #expect(try client.readResponse().status == 304)
                #expect(try client.readResponse().text == "full body /last")
            }
        }

        @Test func expectContinueGetsTheInterimThenTheFinalResponse() throws {
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .echo(.contentLength(0)))) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                let body = BodyPattern.bytes(count: 20_000)
                try client.send(
                    HTTPText.request(
                        "POST", "/upload",
                        headers: [
                            HTTPField("Expect", "100-continue"),
                            HTTPField("Content-Length", "\(body.count)"),
                        ]))
                // The body is withheld until the 100 arrives (the client's read bound is 3 s).
                let interim = try client.readResponse()
                #expect(interim.status == 100)
                try client.send(body)
                let final = try client.readFinalResponse().final
                #expect(final.status == 200)
                #expect(byteDiff(final.body, body) == nil)
                #expect(upstream.requests.first?.bodyCount == body.count)
                #expect(try client.get("/next").status == 200)
            }
        }

        @Test func closeDelimitedResponseIsRelayedFullyThenClosed() throws {
            let body = BodyPattern.bytes(count: 300_000)
            let upstream = try TestUpstream { _ in .respond(UpstreamResponse(body: .closeDelimited(body))) }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                let response = try client.get("/stream")
                #expect(response.status == 200)
                #expect(response.bodyCount == body.count)
                #expect(byteDiff(response.body, body) == nil)
                #expect(client.waitForPeer(timeout: 3) == .closed, "client connection not closed after a close-delimited body")
            }
        }
    }
}

extension Integration.ResponseFraming {
    /// RFC 9110 §15.2: no 1xx to an HTTP/1.0 client; an HTTP/1.1 client gets the 103 relayed.
    @Test func interimResponsesAreNotSentToHTTP10Clients() throws {
        let raw = Array(
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal".utf8)
        let upstream = try TestUpstream { _ in .raw(raw) }
        defer { upstream.stop() }
        try withProxy(.single(primary: upstream)) { proxy in
            let old = try proxy.client(timeout: 3)
            defer { old.close() }
            try old.send("GET /hints HTTP/1.0\r\nHost: x\r\n\r\n")
            let first = try old.readResponse()
            #expect(first.status == 200, "the HTTP/1.0 client's first response must be the final one")
            #expect(first.text == "final")
            let modern = try proxy.client(timeout: 3)
            defer { modern.close() }
            try modern.send("GET /hints HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try modern.readResponse().status == 103)
            let final = try modern.readResponse()
            #expect(final.status == 200 && final.text == "final", "\(final.status) \(final.text.debugDescription)")
        }
    }
}
