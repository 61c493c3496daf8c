// Splits a streamed response body into its JSON messages: the gateway ends each one with a newline.

/// The chunks of a stream need not match its messages (a proxy or a large event batch may split or
/// join them), so the bytes are kept until a newline completes a message. One message larger than
/// `maxLineBytes` is an error rather than an unbounded buffer.
struct JSONLineSplitter: Sendable {
    let maxLineBytes: Int
    private var pending: [UInt8] = []

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// The messages that `bytes` completes, in order, without their newlines; blank lines are skipped.
    mutating func append(_ bytes: UnsafeRawBufferPointer) throws(EtcdError) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = 0
        for index in 0..<bytes.count where bytes[index] == UInt8(ascii: "\n") {
            pending += bytes[start..<index]
            start = index + 1
            if pending.count > maxLineBytes { throw tooLarge }
            if pending.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) { lines.append(pending) }
            pending.removeAll(keepingCapacity: true)
        }
        pending += bytes[start...]
        if pending.count > maxLineBytes { throw tooLarge }
        return lines
    }

    private var tooLarge: EtcdError { .malformed("a stream message larger than \(maxLineBytes) bytes") }
}
