// TLS termination over real sockets: curl over HTTPS, TLS 1.1 refused, certificates by SNI, swapped or added by SIGHUP, a bad one refused.
import Foundation
import Testing

/// The subject of the certificate the listener serves for `serverName` (`CN = name`), as s_client prints it.
private func servedSubject(port: UInt16, serverName: String) throws -> String {
    let output = try handshake(port: port, serverName: serverName, []).output
    let line = output.split(separator: "\n").first { $0.hasPrefix("subject=") }
    return line.map { String($0.dropFirst("subject=".count)) } ?? "no certificate: \(output)"
}

/// What `openssl s_client` negotiates with the listener: exit status and its output.
private func handshake(port: UInt16, serverName: String = "localhost", _ extra: [String]) throws -> (status: Int32, output: String) {
    let result = try ChildProcess.run(
        "/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", serverName] + extra,
        stdin: "", timeout: 10)
    return (result.status, result.stdout + result.stderr)
}

extension Integration {
    @Suite("TLS listeners")
    struct TLSListenerTests {
        /// A response the upstream sends in one piece leaves in one TLS record (head and body joined): two
        /// records meant two sends, each as costly as the whole exchange's other send to the client.
        @Test(arguments: [12, 8_000])
        func aSmallResponseIsOneTLSRecord(bodyLength: Int) throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try TestUpstream(text: String(repeating: "r", count: bodyLength))
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Support/tls_records.py").path
            try withProxy(config) { _ in
                let run = try ChildProcess.run(H2Tools.python, [script, String(tlsPort), "/one"], timeout: 15)
                #expect(run.status == 0, "tls_records.py: \(run.stderr)")
                #expect(
                    run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                        == #"{"records": 1, "status": 200, "bodyLength": \#(bodyLength)}"#, "\(run.stdout)")
            }
        }

        @Test func curlOverHTTPSReachesTheUpstreamMarkedHTTPS() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try TestUpstream(text: "over tls\n")
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            try withProxy(config) { _ in
                let result = try ChildProcess.run(
                    "/usr/bin/curl", ["-sk", "--http1.1", "--max-time", "10", "https://127.0.0.1:\(tlsPort)/hello"])
                #expect(result.status == 0, "curl: \(result.stderr)")
                #expect(result.stdout == "over tls\n")
                let seen = try #require(upstream.requests.last)
                #expect(seen.target == "/hello")
                #expect(seen.headers["x-forwarded-proto"] == "https")
                // Keep-alive over TLS: several requests on one connection.
                let many = try ChildProcess.run(
                    "/usr/bin/curl",
                    ["-sk", "--http1.1", "--max-time", "10"]
                        + Array(repeating: "https://127.0.0.1:\(tlsPort)/again", count: 5))
                #expect(many.stdout == String(repeating: "over tls\n", count: 5))
            }
        }

        @Test func tls11IsRefusedAndTls12And13Work() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try TestUpstream(text: "ok\n")
            defer { upstream.stop() }
            let (config, tlsPort, _) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            try withProxy(config) { _ in
                // SECLEVEL=0 makes the client really offer TLS 1.1, so the refusal is the proxy's.
                let old = try handshake(port: tlsPort, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
                #expect(old.status != 0, "TLS 1.1 must be refused: \(old.output)")
                #expect(old.output.contains("alert protocol version") || old.output.contains("unsupported protocol"), "\(old.output)")
                let v12 = try handshake(port: tlsPort, ["-tls1_2"])
                #expect(v12.output.contains("TLSv1.2"), "\(v12.output)")
                let v13 = try handshake(port: tlsPort, ["-tls1_3"])
                #expect(v13.output.contains("TLSv1.3"), "\(v13.output)")
                let alpn = try handshake(port: tlsPort, ["-alpn", "http/1.1"])
                #expect(alpn.output.contains("ALPN protocol: http/1.1"), "\(alpn.output)")
            }
        }

        @Test func sighupSwapsTheCertificateAndABadOneIsRefused() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let first = try makeTestCertificate("first.test", in: dir)
            let second = try makeTestCertificate("second.test", in: dir)
            let upstream = try TestUpstream(text: "ok\n")
            defer { upstream.stop() }
            let tlsPort = try Posix.freePort()
            var config = ProxyConfig.single(primary: upstream)
            config.extraListeners = [ListenerSpec("https", port: tlsPort, tls: first)]
            try withProxy(config) { proxy in
                #expect(try handshake(port: tlsPort, []).output.contains("CN = first.test"))

                config.extraListeners = [ListenerSpec("https", port: tlsPort, tls: second)]
                try proxy.rewriteConfig(config)
                let swapped = try proxy.reloadBySignal()
                #expect(swapped.lastError == nil)
                #expect(try handshake(port: tlsPort, []).output.contains("CN = second.test"))

                // A key that does not belong to the certificate: refused, the running one keeps serving.
                config.extraListeners = [ListenerSpec("https", port: tlsPort, tls: (second.certificate, first.privateKey))]
                try proxy.rewriteConfig(config)
                let refused = try proxy.reloadBySignal()
                #expect(refused.failures == swapped.failures + 1)
                #expect(refused.lastError != nil)
                #expect(try handshake(port: tlsPort, []).output.contains("CN = second.test"))
                let result = try ChildProcess.run(
                    "/usr/bin/curl", ["-sk", "--http1.1", "--max-time", "10", "https://127.0.0.1:\(tlsPort)/"])
                #expect(result.stdout == "ok\n")
            }
        }

        @Test func sniPicksTheCertificateAndASighupAddsOne() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let alpha = try makeTestCertificate("alpha.test", in: dir)
            let beta = try makeTestCertificate("beta.test", in: dir)
            let gamma = try makeTestCertificate("gamma.test", in: dir)
            let upstream = try TestUpstream(text: "ok\n")
            defer { upstream.stop() }
            let tlsPort = try Posix.freePort()
            var config = ProxyConfig.single(primary: upstream)
            config.extraListeners = [ListenerSpec("https", port: tlsPort, tls: alpha, certificates: [beta])]
            try withProxy(config) { proxy in
                #expect(try servedSubject(port: tlsPort, serverName: "alpha.test") == "CN = alpha.test")
                #expect(try servedSubject(port: tlsPort, serverName: "BETA.test") == "CN = beta.test")
                #expect(try servedSubject(port: tlsPort, serverName: "gamma.test") == "CN = alpha.test")

                // A second entry in the list: served from the next handshake, on the same listener.
                config.extraListeners = [ListenerSpec("https", port: tlsPort, tls: alpha, certificates: [beta, gamma])]
                try proxy.rewriteConfig(config)
                let reloaded = try proxy.reloadBySignal()
                #expect(reloaded.lastError == nil)
                #expect(try servedSubject(port: tlsPort, serverName: "gamma.test") == "CN = gamma.test")
                #expect(try servedSubject(port: tlsPort, serverName: "beta.test") == "CN = beta.test")
                #expect(try servedSubject(port: tlsPort, serverName: "unknown.test") == "CN = alpha.test")
                // Requests flow over a connection whose certificate SNI switched.
                let result = try ChildProcess.run(
                    "/usr/bin/curl",
                    [
                        "-sk", "--http1.1", "--max-time", "10", "--resolve", "gamma.test:\(tlsPort):127.0.0.1",
                        "https://gamma.test:\(tlsPort)/",
                    ])
                #expect(result.stdout == "ok\n", "curl: \(result.stderr)")
            }
        }

        @Test func http2SwitchDecidesWhetherALPNOffersH2() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let upstream = try TestUpstream(text: "ok\n")
            defer { upstream.stop() }
            var (config, tlsPort, cert) = try ProxyConfig.single(primary: upstream).withTLSListener(in: dir)
            try withProxy(config) { proxy in
                let on = try handshake(port: tlsPort, ["-alpn", "h2,http/1.1"])
                #expect(on.output.contains("ALPN protocol: h2"), "\(on.output)")

                config.extraListeners = [ListenerSpec("https", port: tlsPort, tls: cert, http2: false)]
                try proxy.rewriteConfig(config)
                #expect(try proxy.reloadBySignal().lastError == nil)
                let off = try handshake(port: tlsPort, ["-alpn", "h2,http/1.1"])
                #expect(off.output.contains("ALPN protocol: http/1.1"), "\(off.output)")
            }
        }
    }
}
