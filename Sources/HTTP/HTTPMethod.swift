// The request methods the proxy treats specially; every other valid token is `.other` (its bytes stay in `methodRange`).

public enum HTTPMethod: UInt8, Sendable {
    case get, head, post, put, delete, options, patch, trace, connect, other

    /// Methods are case-sensitive (RFC 9110 §9.1), so "get" is an unknown method, not GET.
    init(_ p: UnsafeRawBufferPointer, _ r: ByteRange) {
        switch r.count {
        case 3:
            if ASCII.equals(p, r, "GET") { self = .get } else if ASCII.equals(p, r, "PUT") { self = .put } else { self = .other }
        case 4:
            if ASCII.equals(p, r, "POST") { self = .post } else if ASCII.equals(p, r, "HEAD") { self = .head } else { self = .other }
        case 5:
            if ASCII.equals(p, r, "PATCH") { self = .patch } else if ASCII.equals(p, r, "TRACE") { self = .trace } else { self = .other }
        case 6:
            self = ASCII.equals(p, r, "DELETE") ? .delete : .other
        case 7:
            if ASCII.equals(p, r, "OPTIONS") {
                self = .options
            } else if ASCII.equals(p, r, "CONNECT") {
                self = .connect
            } else {
                self = .other
            }
        default:
            self = .other
        }
    }
}
