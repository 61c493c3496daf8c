// A connection closed after an error response of ours drains what the client still sends (lingering close), so the client's send is not reset under it.
import Foundation
import Synchronization
import Testing

extension Integration {
    @Suite("Lingering close")
    struct LingeringCloseTests {
        @Test func anUploadRefusedWith404IsDrainedNotReset() throws {
            let upstream = try TestUpstream(text: "unreached")
            defer { upstream.stop() }
            let config = ProxyConfig(routes: [RouteSpec("api", pathPrefix: "/api", primary: ArmSpec("v1", upstream))])
            try withProxy(config) { proxy in
                let client = try proxy.client(timeout: 5)
                defer { client.close() }
                // Larger than the socket buffers on both sides, so it only all goes through if the proxy reads it.
                let size = 48 << 20
                try client.send("POST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: \(size)\r\n\r\n")
                let fd = client.fd
                let body = [UInt8](repeating: 0x62, count: size)
                let completed = Atomic<Bool>(false)
                let done = DispatchSemaphore(value: 0)
                Thread {
                    // Without the drain the proxy's close answers the rest with RST and this send fails.
                    if (try? Posix.sendAll(fd, body, op: "body")) != nil { completed.store(true, ordering: .relaxed) }
                    done.signal()
                }.start()
                let response = try client.readResponse(method: "POST")
                #expect(response.status == 404)
                #expect(response.text.contains("no route"))
                #expect(done.wait(timeout: .now() + 10) == .success)
                let allSent = completed.load(ordering: .relaxed)
                #expect(allSent, "the client's body was reset instead of drained")
                #expect(client.waitForPeer(timeout: 5) == .closed, "the proxy closes once the client is done")
                #expect(upstream.requestCount == 0)
            }
        }
    }
}
