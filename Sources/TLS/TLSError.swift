// The one error type of the TLS layer: a sentence naming the file or operation, plus OpenSSL's own text.
import COpenSSL

/// A failure loading a certificate/key or on a TLS connection. `description` is meant for logs and for
/// a refused configuration reload, so it names the file and says what was wrong with it.
public struct TLSError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// `prefix`, then everything on this thread's OpenSSL error queue (which it empties), e.g.
    /// "certificate /x/cert.pem: error:0480006C:PEM routines::no start line".
    static func fromQueue(_ prefix: String) -> TLSError {
        let details = OpenSSLErrors.drain()
        return TLSError(details.isEmpty ? prefix : "\(prefix): \(details)")
    }
}

/// Reads OpenSSL's per-thread error queue.
enum OpenSSLErrors {
    /// Every queued error as text, oldest first, joined by "; "; the queue is left empty.
    static func drain() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            parts.append(text(of: code))
        }
        return parts.joined(separator: "; ")
    }

    static func text(of code: UInt) -> String {
        // ERR_error_string_n's output is at most 256 bytes in practice; it always NUL-terminates.
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buf in
            ERR_error_string_n(code, buf.baseAddress, buf.count)
            return String(cString: buf.baseAddress!)
        }
    }

    /// The reason code of the most recent queued error (0 if none), without removing it.
    static func lastReason() -> Int32 {
        ERR_GET_REASON(ERR_peek_last_error())
    }
}
