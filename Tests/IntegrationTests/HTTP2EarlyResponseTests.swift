// An upstream that answers before reading the request body: the HTTP/2 client gets the answer and is told to stop sending, not left hanging.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Accepts one connection, reads the request head only, waits a second (long enough for the
/// client's flow-control window to fill up behind the unread body), answers 200 (a client sends on after a success, unlike after an error), and holds the
/// connection open without reading the body (until `stop`).
private final class EarlyAnswerUpstream: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        (listener, port) = try Posix.listen()
        let fd = listener
        let finished = done
        Thread {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var head: [UInt8] = []
            var byte: UInt8 = 0
            while !head.suffix(4).elementsEqual([13, 10, 13, 10]), recv(client, &byte, 1, 0) == 1 { head.append(byte) }
            usleep(1_000_000)
            try? Posix.sendAll(client, Array("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\naccepted".utf8))
            finished.wait()
            close(client)
        }.start()
    }

    func stop() {
        done.signal()
        close(listener)
    }
}

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
