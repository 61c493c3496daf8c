// An upstream that answers before reading the request body: the HTTP/2 client gets the answer and is told to stop sending, not left hanging.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Accepts one connection, reads the request head only, waits a second (long enough for the
/// client's flow-control window to fill up behind the unread body), answers 413, and holds the
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
            try? Posix.sendAll(client, Array("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\n\r\ntoo large".utf8))
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
        @Test func anAnswerBeforeTheBodyEndsTheUploadInsteadOfHangingIt() throws {
            let upstream = try EarlyAnswerUpstream()
            defer { upstream.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upload = dir.url.appendingPathComponent("upload")
            try Data(repeating: 0x75, count: 16 << 20).write(to: upload)
            try withProxy(.single(primaryEndpoints: ["127.0.0.1:\(upstream.port)"])) { proxy in
                let started = Date()
                let run = try ChildProcess.run(H2Tools.curl, ["-s", "--http2-prior-knowledge", "--max-time", "8", "-H", "Expect:",
                                                              "-w", " %{http_code}", "--data-binary", "@\(upload.path)",
                                                              "http://127.0.0.1:\(proxy.port)/upload"], timeout: 15)
                // The rest of the upload is acknowledged and dropped: curl finishes it and has the answer.
                #expect(run.status == 0, "curl: \(run.status) \(run.stderr)")
                #expect(run.stdout == "too large 413", "\(run.stdout)")
                #expect(Date().timeIntervalSince(started) < 6, "the client waited \(Date().timeIntervalSince(started)) s for a window")
            }
        }
    }
}
