// A response of the proxy's own on an HTTP/2 stream: its plain-text body and how much of it was handed to the session.

/// The message and a newline, like HTTP/1.1 error responses. A value with no references: held in
/// `H2Exchange.answering`, copied out and written back at no reference-counting cost.
struct H2OwnResponse {
    let message: StaticString
    private(set) var sent = 0

    init(message: StaticString) {
        self.message = message
    }

    /// The body's length, for its content-length.
    var length: Int { message.utf8CodeUnitCount + 1 }

    /// Copies the next bytes of the body into `buffer`: how many, and whether they were the last.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, last: Bool) {
        let total = length
        var n = 0
        message.withUTF8Buffer { text in
            while sent < total && n < buffer.count {
                buffer[n] = sent < text.count ? text[sent] : UInt8(ascii: "\n")
                sent += 1
                n += 1
            }
        }
        return (n, sent == total)
    }
}
