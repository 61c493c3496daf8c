// What an event stream was let in with, kept on its connection: the stream ends when that no longer holds.
import Config

/// Access is checked once, when GET /events connects, but a stream runs for hours. So the stream keeps the
/// admin tokens in force when it opened and, when a login cookie let it in, that session's expiry: a reload
/// that changes either token (a rotation, to cut off a stolen cookie or token) or the session's end closes
/// it at the next push, and the browser's EventSource reconnects and is checked again.
struct EventStreamCredential: Equatable {
    var operatorToken: AdminToken?
    var readerToken: AdminToken?
    /// Unix seconds; nil when the stream did not come in with a cookie (a bearer token, or no tokens at all).
    var sessionExpires: Int?

    init(admin: AdminConfig, sessionExpires: Int?) {
        operatorToken = admin.operatorToken
        readerToken = admin.readerToken
        self.sessionExpires = sessionExpires
    }

    /// Whether the stream may go on under the config in force (`admin`) at `now` (unix seconds).
    func holds(admin: AdminConfig, now: Int) -> Bool {
        guard admin.operatorToken == operatorToken && admin.readerToken == readerToken else { return false }
        return sessionExpires.map { now < $0 } ?? true
    }
}
