// Serialises a response that arrived as decoded fields (from an HTTP/2 upstream) for an HTTP/1.1 client: head, chunk framing, trailer section.

/// Used in the order of the message: `statusLine`, `field` for each field, `endHead`, then for a chunked
/// body `chunkSize`/`chunkEnd` around each run of DATA and `lastChunk`, `trailer` for each trailer
/// field, `endTrailers`. Each call may be the first into a fresh buffer; `result` says whether all fitted.
public struct FieldsResponseWriter {
    private var w: ByteWriter
    /// A `content-length` field was written: the body is delimited by it.
    public private(set) var sawContentLength = false

    public init(into out: UnsafeMutableRawBufferPointer) {
        w = ByteWriter(out)
    }

    /// Bytes written, or nil when the buffer was too small.
    public var result: Int? { w.result }

    /// "HTTP/1.1 NNN Reason": the reason is the standard one (HTTP/2 carries none, RFC 9113 §8.3.2).
    public mutating func statusLine(_ status: Int) {
        w.write("HTTP/1.1 ")
        w.writeDecimal(UInt64(status))
        w.write(byte: ASCII.sp)
        w.write(ReasonPhrase.standard(for: status))
        w.write("\r\n")
    }

    /// One field of the head, unless it is connection-specific (an HTTP/2 peer must not send those, RFC
    /// 9113 §8.2.2; the framing and the Connection field are the proxy's to write).
    public mutating func field(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let whole = ByteRange(lowerBound: 0, upperBound: name.count)
        switch WellKnownField(name: whole, in: name) {
        case .connection, .keepAlive, .proxyConnection, .transferEncoding, .upgrade, .te:
            return
        case .contentLength:
            // A second content-length would make the head ambiguous; HTTP/2 allows one value.
            if sawContentLength { return }
            sawContentLength = true
        default:
            break
        }
        line(name, value)
    }

    /// Complete field lines of the proxy's own (session affinity's Set-Cookie), written as they are.
    public mutating func proxyFields(_ lines: UnsafeRawBufferPointer) {
        w.write(lines)
    }

    /// Ends the head with what the proxy decides: `Transfer-Encoding: chunked`, `content-length: 0` (a
    /// response that ended with its head and declared no length), and the Connection field.
    public mutating func endHead(chunked: Bool, zeroLength: Bool, connection: ConnectionDirective) {
        if chunked { w.write("transfer-encoding: chunked\r\n") }
        if zeroLength { w.write("content-length: 0\r\n") }
        switch connection {
        // An HTTP/2 upstream never switches protocols (its 101 is invalid), so no plan asks for `.upgrade`.
        case .none, .upgrade: break
        case .close: w.write("connection: close\r\n")
        case .keepAlive: w.write("connection: keep-alive\r\n")
        }
        w.write("\r\n")
    }

    /// The interim head of a 1xx response (its fields follow through `field`, then `endInterim`).
    public mutating func endInterim() {
        w.write("\r\n")
    }

    /// "size-in-hex CRLF" before `count` bytes of chunk data (`count` > 0).
    public mutating func chunkSize(_ count: Int) {
        var digits: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &digits) { out in
            var n = 0
            var shift = 60
            while shift > 0 && (UInt64(count) >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
            while shift >= 0 {
                out[n] = hexDigit(Int((UInt64(count) >> UInt64(shift)) & 0xF))
                n += 1
                shift -= 4
            }
            w.write(UnsafeRawBufferPointer(rebasing: out[0..<n]))
        }
        w.write("\r\n")
    }

    /// Body bytes, as they are (a chunk's data, between `chunkSize` and `chunkEnd`).
    public mutating func data(_ bytes: UnsafeRawBufferPointer) {
        w.write(bytes)
    }

    /// The CRLF after a chunk's data.
    public mutating func chunkEnd() {
        w.write("\r\n")
    }

    /// The last chunk; the trailer section follows (`trailer`, then `endTrailers`).
    public mutating func lastChunk() {
        w.write("0\r\n")
    }

    /// One trailer field, unless RFC 9110 §6.5.1 forbids it in a trailer section (`TrailerFields`).
    public mutating func trailer(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if TrailerFields.isForbidden(name) { return }
        line(name, value)
    }

    public mutating func endTrailers() {
        w.write("\r\n")
    }

    /// The most bytes `chunkSize` and `chunkEnd` add around one chunk's data (16 hex digits, two CRLFs).
    public static let chunkFraming = 20

    private mutating func line(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        w.write(name)
        w.write(": ")
        w.write(value)
        w.write("\r\n")
    }
}

private func hexDigit(_ v: Int) -> UInt8 {
    v < 10 ? UInt8(ascii: "0") + UInt8(v) : UInt8(ascii: "a") + UInt8(v - 10)
}
