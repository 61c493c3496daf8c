// A connection closed while the client still sends (after an error response of ours, or an upstream's answer before the whole body) drains the rest (lingering close), so the client's send is not reset under it.
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
                let upload = try Self.startUpload(client, target: "/elsewhere")
                let response = try client.readResponse(method: "POST")
                #expect(response.status == 404)
                #expect(response.text.contains("no route"))
                #expect(upload(), "the client's body was reset instead of drained")
                #expect(client.waitForPeer(timeout: 5) == .closed, "the proxy closes once the client is done")
                #expect(upstream.requestCount == 0)
            }
        }

        /// The upstream answers after the head and never reads the body: the response ends the exchange
        /// with the request unfinished, and the proxy drains the rest instead of closing under it.
        @Test func anUploadTheUpstreamAnsweredEarlyIsDrainedNotReset() throws {
            let upstream = try EarlyAnswerUpstream()
            defer { upstream.stop() }
            try withProxy(.single(primaryEndpoints: ["127.0.0.1:\(upstream.port)"])) { proxy in
                let client = try proxy.client(timeout: 5)
                defer { client.close() }
                let upload = try Self.startUpload(client, target: "/upload")
                let response = try client.readResponse(method: "POST")
                #expect(response.status == 200 && response.text == "accepted")
                #expect(upload(), "the client's body was reset instead of drained")
                #expect(client.waitForPeer(timeout: 5) == .closed, "the proxy closes once the client is done")
            }
        }

        /// Sends a POST head, then its body from another thread: 48 MiB, more than the socket buffers on
        /// both sides hold, so it only all goes through if the proxy reads it (without the drain, the
        /// proxy's close answers the rest with RST and the send fails). The returned call waits (bounded)
        /// and tells whether the whole body went out.
        static func startUpload(_ client: RawClient, target: String) throws -> () -> Bool {
            let size = 48 << 20
            try client.send("POST \(target) HTTP/1.1\r\nHost: x\r\nContent-Length: \(size)\r\n\r\n")
            let fd = client.fd
            let completed = Atomic<Bool>(false)
            let done = DispatchSemaphore(value: 0)
            Thread {
                let body = [UInt8](repeating: 0x62, count: size)
                if (try? Posix.sendAll(fd, body, op: "body")) != nil { completed.store(true, ordering: .relaxed) }
                done.signal()
            }.start()
            return { done.wait(timeout: .now() + 10) == .success && completed.load(ordering: .relaxed) }
        }
    }
}
