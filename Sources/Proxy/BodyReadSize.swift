// How much of a body to read at once when it leaves over TLS (a response to a TLS client, a request to a TLS upstream): whole TLS records, so one read leaves as one record.

/// A loop buffer holds 17 KiB (16 KiB plus room for what the proxy adds to a request head), and a TLS
/// record carries at most 16 KiB: a full buffer went out as a 16 KiB record and a 1 KiB one, two
/// encryptions and two sends where one would do (measured: 122 sends and 61 reads per MiB of an HTTPS
/// download). Reading whole records' worth keeps one send per read.
enum BodyReadSize {
    /// The largest plaintext a TLS record carries (RFC 8446 §5.1).
    static let tlsRecord = 16 * 1024

    /// Bytes to read into `space` free bytes for a body whose destination is behind `tls`: all of them
    /// in the clear, whole records under TLS (the space itself when it is less than one record).
    static func read(space: Int, towardTLS tls: Bool) -> Int {
        guard tls, space > tlsRecord else { return space }
        return space - space % tlsRecord
    }
}
