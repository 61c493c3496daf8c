// When an open event stream must end: a reload that changes the admin tokens, or the end of its login session.
@testable import Canarygate
import Config
import Testing

@Suite struct EventStreamCredentialTests {
    private let operatorToken = AdminToken(file: "operator", bytes: Array("operator-0123456789".utf8))
    private let readerToken = AdminToken(file: "reader", bytes: Array("reader-0123456789".utf8))
    private var both: AdminConfig { AdminConfig(operatorToken: operatorToken, readerToken: readerToken) }

    @Test func aStreamHoldsWhileTheTokensStayTheSame() {
        let credential = EventStreamCredential(admin: both, sessionExpires: nil)
        #expect(credential.holds(admin: both, now: 0))
        #expect(credential.holds(admin: both, now: Int.max), "a bearer-token stream has no expiry")
        // A reload of the same files keeps it; any other address or setting does not matter.
        var moved = both
        moved.address = HostPort(host: "127.0.0.1", port: 9999)
        #expect(credential.holds(admin: moved, now: 0))
        #expect(EventStreamCredential(admin: AdminConfig(), sessionExpires: nil).holds(admin: AdminConfig(), now: 0))
    }

    @Test func aChangeOfEitherTokenEndsTheStream() {
        let credential = EventStreamCredential(admin: both, sessionExpires: nil)
        let rotated = AdminToken(file: "reader", bytes: Array("reader-rotated-0123456789".utf8))
        #expect(!credential.holds(admin: AdminConfig(operatorToken: operatorToken, readerToken: rotated), now: 0))
        #expect(!credential.holds(admin: AdminConfig(operatorToken: rotated, readerToken: readerToken), now: 0))
        #expect(!credential.holds(admin: AdminConfig(operatorToken: operatorToken), now: 0), "the reader token removed")
        // Tokens added to an open API end its streams too: they were let in without one.
        #expect(!EventStreamCredential(admin: AdminConfig(), sessionExpires: nil).holds(admin: both, now: 0))
    }

    @Test func aCookieStreamEndsWithItsSession() {
        let credential = EventStreamCredential(admin: both, sessionExpires: 1000)
        #expect(credential.holds(admin: both, now: 999))
        #expect(!credential.holds(admin: both, now: 1000), "expired at its expiry, as the cookie is")
        #expect(!credential.holds(admin: both, now: 5000))
    }
}
