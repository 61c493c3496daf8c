// An upstream's TLS close without close_notify cuts a close-delimited response: it must reach the client as cut, never as complete.
import Foundation
import Testing

extension Integration {
    @Suite("Upstream TLS truncation")
    struct UpstreamTLSTruncationTests {
        private static func config(_ upstream: TLSCloseUpstream) -> ProxyConfig {
            var arm = ArmSpec("v1", [upstream.endpoint])
            arm.tls = ("upstream.test", upstream.certificate)
            return ProxyConfig(routes: [RouteSpec(primary: arm)])
        }

        private static let resetFailures = "canarygate_upstream_failures_total{route=\"web\",arm=\"primary\",source=\"upstream_reset\"}"

        /// The control: close_notify ends the body, which is relayed whole and counts as no failure.
        @Test func aBodyEndedByCloseNotifyIsRelayedWhole() throws {
            let upstream = try TLSCloseUpstream(name: "upstream.test")
            defer { upstream.stop() }
            try withProxy(Self.config(upstream), threads: 1) { proxy in
                let response = try proxy.fetch(HTTPText.request("GET", "/whole"))
                #expect(response.status == 200)
                #expect(response.text == TLSCloseUpstream.body)
                let h2 = try ChildProcess.run(
                    "/usr/bin/curl",
                    [
                        "-s", "--http2-prior-knowledge", "--max-time", "10",
                        "http://127.0.0.1:\(proxy.port)/whole",
                    ])
                #expect(h2.status == 0, "curl: \(h2.status) \(h2.stderr)")
                #expect(h2.stdout == TLSCloseUpstream.body)
                #expect(try proxy.admin("/metrics").text.contains(Self.resetFailures + " 0"))
            }
        }

        /// A body framed by its length is complete at its last byte: a bare FIN right behind it (many
        /// servers close without close_notify), even read in the same go as the body, costs nothing.
        @Test func aLengthFramedBodyFollowedByABareFINIsRelayedWhole() throws {
            let upstream = try TLSCloseUpstream(name: "upstream.test")
            defer { upstream.stop() }
            try withProxy(Self.config(upstream), threads: 1) { proxy in
                for _ in 0..<5 {
                    let response = try proxy.fetch(HTTPText.request("GET", "/length"))
                    #expect(response.status == 200)
                    #expect(response.text == TLSCloseUpstream.body)
                }
                #expect(try proxy.admin("/metrics").text.contains(Self.resetFailures + " 0"))
            }
        }

        /// A FIN without close_notify (forgeable by anyone on the path) is not the end of the body: the HTTP/1.1
        /// client's connection is reset after the head and body relayed so far, the HTTP/2 client's stream
        /// too, and each counts as an upstream failure. (Should the FIN come in the same read as the head,
        /// nothing is relayed and the client gets a 502: not complete either.)
        @Test func aBodyCutByABareFINReachesTheClientAsCut() throws {
            let upstream = try TLSCloseUpstream(name: "upstream.test")
            defer { upstream.stop() }
            try withProxy(Self.config(upstream), threads: 1) { proxy in
                do {
                    let relayed = try proxy.fetch(HTTPText.request("GET", "/cut"))
                    #expect(relayed.status == 502, "relayed as complete: \(relayed.status) \(relayed.text.debugDescription)")
                } catch SocketError.reset {
                    // The head and the body so far, then a reset: the client knows the body is cut.
                }
                let h2 = try ChildProcess.run(
                    "/usr/bin/curl",
                    [
                        "-s", "--http2-prior-knowledge", "--max-time", "10", "-w", "%{http_code}",
                        "http://127.0.0.1:\(proxy.port)/cut",
                    ])
                // 92: HTTP/2 stream error (our RST_STREAM).
                #expect(h2.status == 92 || h2.stdout.hasSuffix("502"), "curl: \(h2.status) \(h2.stdout.debugDescription) \(h2.stderr)")
                let metrics = try proxy.admin("/metrics").text
                #expect(metrics.contains(Self.resetFailures + " 2"), "\(metrics.split(separator: "\n").filter { $0.contains("failures") })")
            }
        }
    }
}
