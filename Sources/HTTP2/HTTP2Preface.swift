// Recognising the HTTP/2 client connection preface on a plain connection (h2c with prior knowledge, RFC 9113 §3.3).

public enum HTTP2Preface {
    public enum Match { case yes, no, needMore }

    static let bytes: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// Whether `input` starts with the preface; `needMore` while what arrived is a prefix of it.
    public static func match(_ input: UnsafeRawBufferPointer) -> Match {
        let n = min(input.count, bytes.count)
        for i in 0..<n where input[i] != bytes[i] { return .no }
        return n == bytes.count ? .yes : .needMore
    }
}
