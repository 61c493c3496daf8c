// GET /events without sockets: the Server-Sent Events framing, one stream's unsent bytes and their bound.

/// One SSE message: `event: NAME`, the data as `data:` lines (a line break in the data, CR, LF or CRLF as SSE
/// reads them, starts another `data:` line, which the browser joins back with "\n"), and the blank line that ends it.
enum EventStreamFrame {
    static func message(event: String, data: String) -> [UInt8] {
        var text = "event: \(event)\n"
        // "\r\n" is one Character in Swift.
        for line in data.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            text += "data: " + line + "\n"
        }
        return Array((text + "\n").utf8)
    }

    /// The response head: no Content-Length (the body is the stream, ended by closing the connection).
    static let head = Array(
        ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            + "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n").utf8)
}

/// The bytes a stream has been given and the socket has not yet taken.
struct EventStreamOutbox {
    /// A client that lets more than this wait (a tab in the background of a stalled machine, a reader that
    /// stopped reading) is dropped rather than given more: memory stays bounded, the loop never waits.
    static let limit = 1 << 20

    private var bytes: [UInt8]
    private var taken = 0
    /// The unsent part of the stream's first bytes (the head and the snapshot). They are not counted against
    /// `limit`: the snapshot grows with the routes (a canary route's two minutes of samples are some 30 KB),
    /// and counting it would drop every new stream as slow at its first update, a reconnect loop that never
    /// shows the page live. Its size is bounded by its own window (AdminEventFeed.snapshotSeconds).
    private var firstUnsent: Int

    init(first: [UInt8] = []) {
        bytes = first
        firstUnsent = first.count
    }

    var unsent: Int { bytes.count - taken }

    /// The unsent bytes queued after the first ones: what the bound counts.
    var backlog: Int { unsent - firstUnsent }

    /// Appends `message`, or returns false (nothing appended) when the client is already more than `limit` behind.
    mutating func append(_ message: [UInt8]) -> Bool {
        guard backlog <= Self.limit else { return false }
        if taken > 0 {
            bytes.removeFirst(taken)
            taken = 0
        }
        bytes += message
        return true
    }

    /// The socket took `count` of the unsent bytes.
    mutating func took(_ count: Int) {
        firstUnsent = max(0, firstUnsent - count)
        taken = min(bytes.count, taken + count)
        if taken == bytes.count {
            bytes.removeAll(keepingCapacity: false)
            taken = 0
        }
    }

    func withUnsent<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[taken...])) }
    }
}

/// Which open streams to close so that at most `limit` remain: the oldest (streams are kept in the order they opened).
enum EventStreamRoster {
    static let limit = 16

    static func excess(count: Int, limit: Int = Self.limit) -> Range<Int> { 0..<max(0, count - limit) }
}
