// What the proxy tells its client about the connection's future in a response head it writes.

public enum ConnectionDirective: Sendable {
    /// No Connection field: HTTP/1.1's default (persistent) applies.
    case none
    case close
    /// Needed for HTTP/1.0 clients, whose default is to close.
    case keepAlive
    /// A 101 that switches the connection to the protocol its Upgrade fields name (`Connection: upgrade`).
    case upgrade
}
