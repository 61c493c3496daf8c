// A client that vanishes mid-response makes writes throw (EPIPE/ECONNRESET) instead of killing us with SIGPIPE.
import Foundation
import Glibc
import Testing
import TLS

@Suite("Peer gone", .serialized)
struct PeerGoneTests {
    /// s_client closes as soon as its stdin is at EOF, while the server is still pushing 4 MiB: the
    /// socket BIO must send with MSG_NOSIGNAL (OpenSSL's own uses write(), and SIGPIPE is not ignored here).
    @Test func writeToAClosedPeerThrows() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let pair = try Certificate.make(in: dir)
        let context = try TLSContext(keyPairs: [pair.keyPair])
        let listener = try TestListener()
        let client = try ClientProcess(
            "/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(listener.port)"], in: dir, name: "s_client")
        let connection = try listener.accept(context: context, until: Deadline(seconds: 10))
        try connection.handshake()
        _ = client.finish()
        let error = #expect(throws: TLSError.self) {
            try connection.writeAll([UInt8](repeating: 0x61, count: 4 << 20))
        }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("TLS write: "), "\(text)")
        // After a failure, shutdown() must be a harmless no-op.
        connection.close()
    }
}
