// An upstream that answers before reading the request body, for the early-response tests of both client protocols.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Accepts one connection, reads the request head only, waits a second (long enough for the
/// client's flow-control window to fill up behind the unread body), answers 200 (a client sends on after a success, unlike after an error), and holds the
/// connection open without reading the body (until `stop`).
final class EarlyAnswerUpstream: @unchecked Sendable {
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
