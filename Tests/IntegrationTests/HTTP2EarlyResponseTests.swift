// An upstream that answers before reading the request body: the HTTP/2 client gets the answer and is told to stop sending, not left hanging.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("HTTP/2 early responses")
    struct HTTP2EarlyResponseTests {
        @Test func anAnswerBeforeTheBodyLetsTheUploadFinishInsteadOfHanging() throws {
            let upstream = try EarlyAnswerUpstream()
            defer { upstream.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upload = dir.url.appendingPathComponent("upload")
            try Data(repeating: 0x75, count: 16 << 20).write(to: upload)
            try withProxy(.single(primaryEndpoints: ["127.0.0.1:\(upstream.port)"])) { proxy in
                let started = Date()
                // nghttp uploads under flow control and keeps sending after the response (curl 7.88 stalls
                // in that case whatever the server does).
                let run = try ChildProcess.run(
                    H2Tools.nghttp, ["-d", upload.path, "-t", "8", "http://127.0.0.1:\(proxy.port)/upload"],
                    timeout: 15)
                // The rest of the upload is acknowledged and dropped: the client finishes it and has the answer.
                #expect(run.status == 0, "nghttp: \(run.status) \(run.stderr.suffix(500))")
                #expect(run.stdout == "accepted", "\(run.stdout)")
                #expect(Date().timeIntervalSince(started) < 6, "the client waited \(Date().timeIntervalSince(started)) s for a window")
            }
        }
    }
}
