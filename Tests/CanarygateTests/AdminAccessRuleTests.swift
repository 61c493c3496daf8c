// The admin API's access rules without sockets: which Host and Origin pass, and the token matrix.
// (The login cookie's rules: AdminSessionRuleTests.)
@testable import Canarygate
import Config
import Testing

@Suite struct AdminAccessRuleTests {
    private let operatorToken = AdminToken(file: "operator", bytes: Array("operator-0123456789".utf8))
    private let readerToken = AdminToken(file: "reader", bytes: Array("reader-0123456789".utf8))

    private func context(_ admin: AdminConfig, local: String = "127.0.0.1:9901", loopback: Bool = true) -> AdminAccess.Context {
        AdminAccess.Context(admin: admin, localAddress: local, localIsLoopback: loopback, sessions: AdminSessionKey.random(), now: 0)
    }

    /// The status of the refusal, or 0 when the request may proceed.
    private func decide(
        _ method: String, _ path: String, host: String? = "127.0.0.1:9901", origin: String? = nil, token: String? = nil,
        admin: AdminConfig = AdminConfig(), local: String = "127.0.0.1:9901", localIsLoopback: Bool = true
    ) -> Int {
        let request = AdminRequest(
            method: method, path: path, query: "", host: host, origin: origin,
            authorization: token.map { "Bearer \($0)" })
        guard let refusal = AdminAccess.verdict(for: request, context(admin, local: local, loopback: localIsLoopback)).refusal else {
            return 0
        }
        return Int(refusal.status.prefix(3)) ?? -1
    }

    @Test func loopbackNamesPassAndOthersAreRefused() {
        for host in ["127.0.0.1:9901", "localhost:9901", "LOCALHOST:9901", "[::1]:9901"] {
            #expect(decide("GET", "/status", host: host) == 0, "\(host)")
            #expect(decide("POST", "/reload", host: host, origin: "http://\(host)") == 0, "\(host)")
        }
        for host in ["evil.example:9901", "127.0.0.1", "127.0.0.1:9902", "localhost", "10.0.0.1:9901"] {
            #expect(decide("GET", "/status", host: host) == 403, "\(host)")
        }
        #expect(decide("GET", "/status", host: nil) == 403)
        for origin in ["http://evil.example", "null", "https://127.0.0.1:9901", "http://127.0.0.1:9902", "127.0.0.1:9901"] {
            #expect(decide("POST", "/reload", origin: origin) == 403, "\(origin)")
        }
        // /healthz answers whatever the headers say.
        #expect(decide("GET", "/healthz", host: "10.1.2.3:9901", origin: "http://evil.example") == 0)
        #expect(decide("GET", "/healthz", host: nil) == 0)
    }

    /// On a wildcard address the names are the one written and the address the client reached, plus the
    /// loopback names only for a connection that came in on loopback.
    @Test func aWildcardAddressAcceptsTheAddressTheClientReached() {
        let admin = AdminConfig(address: HostPort(host: "0.0.0.0", port: 9901), operatorToken: operatorToken)
        #expect(decide("GET", "/status", host: "10.1.2.3:9901", admin: admin, local: "10.1.2.3:9901", localIsLoopback: false) == 0)
        #expect(decide("GET", "/status", host: "0.0.0.0:9901", admin: admin, local: "10.1.2.3:9901", localIsLoopback: false) == 0)
        #expect(decide("GET", "/status", host: "localhost:9901", admin: admin, local: "10.1.2.3:9901", localIsLoopback: false) == 403)
        #expect(decide("GET", "/status", host: "localhost:9901", admin: admin, local: "127.0.0.1:9901", localIsLoopback: true) == 0)
        #expect(decide("GET", "/status", host: "10.9.9.9:9901", admin: admin, local: "10.1.2.3:9901", localIsLoopback: false) == 403)
    }

    @Test func theTokenMatrix() {
        let both = AdminConfig(operatorToken: operatorToken, readerToken: readerToken)
        let op = "operator-0123456789", reader = "reader-0123456789"
        for path in ["/reload", "/routes/web/abort"] {
            #expect(decide("POST", path, admin: both) == 401)
            #expect(decide("POST", path, token: "operator-012345678X", admin: both) == 401)
            #expect(decide("POST", path, token: reader, admin: both) == 403)
            #expect(decide("POST", path, token: op, admin: both) == 0)
        }
        for path in ["/status", "/metrics"] {
            #expect(decide("GET", path, admin: both) == 401)
            #expect(decide("GET", path, token: reader, admin: both) == 0)
            #expect(decide("GET", path, token: op, admin: both) == 0)
        }
        #expect(decide("GET", "/healthz", admin: both) == 0)
        // A token good enough for the request skips the Host check; one that is not does not.
        #expect(decide("GET", "/metrics", host: "10.1.2.3:9901", token: reader, admin: both) == 0)
        #expect(decide("POST", "/reload", host: "10.1.2.3:9901", token: reader, admin: both) == 403)
        #expect(decide("POST", "/reload", host: "evil.example:9901", admin: both) == 403)
        // The scheme is case-insensitive.
        let lower = AdminRequest(
            method: "POST", path: "/reload", query: "", host: "127.0.0.1:9901", origin: nil, authorization: "bearer \(op)")
        #expect(AdminAccess.verdict(for: lower, context(both, local: "127.0.0.1:9901", loopback: true)).refusal == nil)
        // Operator token alone: reads stay open.
        let operatorOnly = AdminConfig(operatorToken: operatorToken)
        #expect(decide("GET", "/status", admin: operatorOnly) == 0)
        #expect(decide("POST", "/reload", admin: operatorOnly) == 401)
    }

    private func decide(
        _ path: String, fetchSite: String? = nil, accept: String? = "text/event-stream", admin: AdminConfig = AdminConfig()
    )
        -> Int
    {
        var request = AdminRequest(method: "GET", path: path, query: "", host: "127.0.0.1:9901", origin: nil, authorization: nil)
        request.fetchSite = fetchSite
        request.accept = accept
        let refusal = AdminAccess.verdict(for: request, context(admin)).refusal
        return refusal.map { Int($0.status.prefix(3)) ?? -1 } ?? 0
    }

    /// Another site's page (or one on another port of this host) cannot load the page or open a stream.
    @Test func thePageAndTheStreamRefuseOtherSites() {
        for path in ["/", "/events"] {
            #expect(decide(path, fetchSite: "cross-site") == 403, "\(path)")
            #expect(decide(path, fetchSite: "Same-Site") == 403, "\(path)")
            #expect(decide(path, fetchSite: "same-origin") == 0, "\(path)")
            #expect(decide(path, fetchSite: "none") == 0, "\(path)")
            #expect(decide(path) == 0, "\(path)")
        }
        // The documents a script or a scraper reads are not limited by it.
        #expect(decide("/status", fetchSite: "cross-site") == 0)
    }

    /// `<img src=/events>` sends `*/*`; EventSource sends `text/event-stream`.
    @Test func theStreamNeedsAcceptEventStream() {
        #expect(decide("/events", accept: nil) == 406)
        #expect(decide("/events", accept: "image/avif,image/webp,*/*;q=0.8") == 406)
        #expect(decide("/events", accept: "*/*") == 406)
        #expect(decide("/events", accept: "text/event-stream") == 0)
        #expect(decide("/events", accept: "text/html, Text/Event-Stream; q=0.9") == 0)
        #expect(decide("/", accept: nil) == 0)
        // Without a credential, 401 comes first: the refusal does not tell a stranger how to ask.
        let both = AdminConfig(operatorToken: operatorToken, readerToken: readerToken)
        #expect(decide("/events", accept: nil, admin: both) == 401)
    }

    @Test func theChallengeNamesBearer() {
        let both = AdminConfig(operatorToken: operatorToken, readerToken: readerToken)
        let request = AdminRequest(
            method: "POST", path: "/reload", query: "", host: "127.0.0.1:9901", origin: nil, authorization: "Bearer wrong-token")
        let refusal = AdminAccess.verdict(for: request, context(both, local: "127.0.0.1:9901", loopback: true)).refusal
        #expect(refusal?.extraHeaders.first { $0.0 == "WWW-Authenticate" }?.1 == #"Bearer realm="canarygate-admin", error="invalid_token""#)
    }
}
