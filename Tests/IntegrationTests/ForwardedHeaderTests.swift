// Forwarded as the upstream sees it: the client's well-formed elements kept, the proxy's element appended last, as for X-Forwarded-For.
import Foundation
import Testing

extension Integration {
    @Suite("Forwarded header")
    struct ForwardedHeader {
        static func forwarded(_ request: RecordedRequest) -> [String] {
            request.headers.filter { $0.name.lowercased() == "forwarded" }.map(\.value)
        }

        @Test func theProxysElementIsAppendedToTheClients() throws {
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                let cases: [(sent: [String], seen: String)] = [
                    ([], "for=127.0.0.1;host=\"example.test\";proto=http"),
                    (
                        ["for=192.0.2.60;proto=https;by=203.0.113.43"],
                        "for=192.0.2.60;proto=https;by=203.0.113.43, for=127.0.0.1;host=\"example.test\";proto=http"
                    ),
                    (
                        ["for=\"[2001:db8:cafe::17]:4711\"", "for=unknown, for=_hidden"],
                        "for=\"[2001:db8:cafe::17]:4711\", for=unknown, for=_hidden, for=127.0.0.1;host=\"example.test\";proto=http"
                    ),
                    // An unclosed quote would swallow the proxy's element: such a value is dropped.
                    (["for=\"1.2.3.4"], "for=127.0.0.1;host=\"example.test\";proto=http"),
                    (["for=1.2.3.4 proto=http", "for=5.6.7.8"], "for=5.6.7.8, for=127.0.0.1;host=\"example.test\";proto=http"),
                ]
                for (sent, _) in cases {
                    #expect(try client.get("/f", headers: sent.map { HTTPField("Forwarded", $0) }).status == 200)
                }
                let seen = upstream.requests
                #expect(seen.count == cases.count)
                for (request, expected) in zip(seen, cases) {
                    #expect(Self.forwarded(request) == [expected.seen], "sent \(expected.sent)")
                    // X-Forwarded-For is unchanged: the client's values, then the address.
                    #expect(request.headers["x-forwarded-for"] == "127.0.0.1")
                }
            }
        }
    }
}
