// Who may use the admin API: Host and Origin checks, the operator and reader tokens, and the CLI sending its token.
import Foundation
import Testing

extension Integration {
    @Suite("Admin API access")
    struct AdminAccess {
        static let operatorToken = "operator-0123456789abcdef"
        static let readerToken = "reader-0123456789abcdef"

        /// One request on a fresh admin connection.
        private func call(
            _ proxy: ProxyProcess, _ method: String, _ path: String, host: String? = nil,
            token: String? = nil, origin: String? = nil
        ) throws -> ClientResponse {
            var headers: [HTTPField] = []
            if let token { headers.append(HTTPField("Authorization", "Bearer \(token)")) }
            if let origin { headers.append(HTTPField("Origin", origin)) }
            let request = HTTPText.request(
                method, path, host: host ?? "127.0.0.1:\(proxy.adminPort)", headers: headers,
                body: method == "POST" ? [] : nil)
            return try RawClient.fetch(port: proxy.adminPort, request, method: method)
        }

        /// Writes the token files into the proxy's dir and reloads into a config naming them (the tokens are
        /// read on reload, as at start). Returns the files.
        @discardableResult
        private func installTokens(_ proxy: ProxyProcess, _ config: ProxyConfig, reader: Bool = true) throws -> (operator: URL, reader: URL)
        {
            let operatorFile = try proxy.dir.write("operator.token", Self.operatorToken + "\n")
            let readerFile = try proxy.dir.write("reader.token", Self.readerToken + "\n")
            try writeConfig(
                proxy, config,
                adminKeys: "  operatorTokenFile: \(operatorFile.path)\n"
                    + (reader ? "  readerTokenFile: \(readerFile.path)\n" : ""))
            let reload = try call(proxy, "POST", "/reload")
            try #require(reload.status == 200, "reload into the token config: \(reload.status) \(reload.text)")
            return (operatorFile, readerFile)
        }

        /// Successful reloads so far, from `/status` read with the operator token.
        private func reloads(_ proxy: ProxyProcess) throws -> Int {
            let status = try call(proxy, "GET", "/status", token: Self.operatorToken)
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(status.body)) as? [String: Any], "\(status.status) \(status.text)")
            return ReloadState(json["config"] as? [String: Any] ?? [:]).successes
        }

        private func writeConfig(_ proxy: ProxyProcess, _ config: ProxyConfig, adminKeys: String) throws {
            let anchor = "  address: 127.0.0.1:\(proxy.adminPort)\n"
            let yaml = config.yaml(listenPort: proxy.port, adminPort: proxy.adminPort)
            try #require(yaml.contains(anchor))
            try proxy.writeConfig(yaml.replacingOccurrences(of: anchor, with: anchor + adminKeys))
        }

        /// Without tokens, a browser on the host is the threat: a page may post to loopback ("simple"
        /// cross-origin POST) and, after DNS rebinding, read from it. It cannot choose `Host` or `Origin`.
        @Test func foreignHostsAndOriginsAreRefused() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let port = proxy.adminPort
                let crossSite = try call(proxy, "POST", "/reload", origin: "http://evil.example")
                #expect(
                    crossSite.status == 403 && crossSite.text.contains("Origin http://evil.example"),
                    "\(crossSite.status) \(crossSite.text)")
                #expect(crossSite.headers["x-content-type-options"] == "nosniff")
                let rebound = try call(proxy, "POST", "/routes/web/abort", host: "rebind.example:\(port)")
                #expect(rebound.status == 403 && rebound.text.contains("Host rebind.example:\(port)"), "\(rebound.status) \(rebound.text)")
                let readRebound = try call(proxy, "GET", "/status", host: "rebind.example:\(port)")
                #expect(readRebound.status == 403, "\(readRebound.status) \(readRebound.text)")
                #expect(try call(proxy, "GET", "/metrics", host: "127.0.0.1:1\(port)").status == 403)
                #expect(try call(proxy, "POST", "/reload", origin: "null").status == 403)
                #expect(try call(proxy, "POST", "/reload", origin: "https://127.0.0.1:\(port)").status == 403)
                let noHost = try RawClient.fetch(port: port, HTTPText.request("GET", "/status", host: nil))
                #expect(noHost.status == 403 && noHost.text.contains("Host"), "\(noHost.status) \(noHost.text)")
                // Nothing refused reached the proxy's state.
                #expect(try proxy.reloadState().successes == 0)

                // The names of this API on loopback, and a same-origin page.
                for host in ["127.0.0.1:\(port)", "localhost:\(port)", "LocalHost:\(port)", "[::1]:\(port)"] {
                    #expect(try call(proxy, "GET", "/status", host: host).status == 200, "Host \(host)")
                }
                #expect(try call(proxy, "POST", "/reload", origin: "http://localhost:\(port)").status == 200)
                // A probe's Host is the pod's address, or whatever it was told: /healthz answers any.
                #expect(try call(proxy, "GET", "/healthz", host: "10.1.2.3:\(port)").status == 200)
                #expect(try call(proxy, "GET", "/healthz", host: nil, origin: "http://evil.example").status == 200)
                // The CLI names the address it calls.
                let cli = try CanarygateBinary.run(["reload", "--admin", "localhost:\(port)"])
                #expect(cli.status == 0, "reload --admin localhost: \(cli.stdout)\(cli.stderr)")
            }
        }

        @Test func tokensGateChangesAndReads() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream)
            try withProxy(config) { proxy in
                try installTokens(proxy, config)
                let missing = try call(proxy, "POST", "/reload")
                #expect(missing.status == 401, "\(missing.status) \(missing.text)")
                #expect(missing.headers["www-authenticate"]?.hasPrefix("Bearer") == true, "\(missing.headers)")
                let wrong = try call(proxy, "POST", "/reload", token: "operator-0123456789abcdeX")
                #expect(
                    wrong.status == 401 && wrong.headers["www-authenticate"]?.contains(#"error="invalid_token""#) == true,
                    "\(wrong.status) \(wrong.headers)")
                let asReader = try call(proxy, "POST", "/reload", token: Self.readerToken)
                #expect(asReader.status == 403, "\(asReader.status) \(asReader.text)")
                #expect(try call(proxy, "POST", "/routes/web/pause").status == 401)
                #expect(try call(proxy, "POST", "/routes/web/pause", token: Self.readerToken).status == 403)
                #expect(try reloads(proxy) == 1)
                #expect(try call(proxy, "POST", "/reload", token: Self.operatorToken).status == 200)

                #expect(try call(proxy, "GET", "/status").status == 401)
                #expect(try call(proxy, "GET", "/metrics").status == 401)
                #expect(try call(proxy, "GET", "/status", token: Self.operatorToken).status == 200)
                #expect(try call(proxy, "GET", "/metrics", token: Self.readerToken).status == 200)
                // Prometheus scraping the pod's address with its bearer token file: any Host will do with a token.
                #expect(try call(proxy, "GET", "/metrics", host: "10.1.2.3:\(proxy.adminPort)", token: Self.readerToken).status == 200)
                #expect(try call(proxy, "GET", "/healthz").status == 200)
                #expect(try reloads(proxy) == 2)
            }
        }

        /// Only the operator token set: reads stay open (to this host's names), changes need it.
        @Test func anOperatorTokenAloneLeavesReadsOpen() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream)
            try withProxy(config) { proxy in
                try installTokens(proxy, config, reader: false)
                #expect(try call(proxy, "GET", "/status").status == 200)
                #expect(try call(proxy, "POST", "/reload").status == 401)
                #expect(try call(proxy, "POST", "/reload", token: Self.readerToken).status == 401)
            }
        }

        /// The files are read again on reload: a new token takes over; a file gone keeps the running config and its tokens.
        @Test func aReloadRereadsTheTokenFiles() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream)
            try withProxy(config) { proxy in
                let files = try installTokens(proxy, config)
                let rotated = "operator-rotated-0123456789"
                try (rotated + "\n").write(to: files.operator, atomically: true, encoding: .utf8)
                #expect(try call(proxy, "POST", "/reload", token: Self.operatorToken).status == 200)
                #expect(try call(proxy, "POST", "/reload", token: Self.operatorToken).status == 401)
                #expect(try call(proxy, "POST", "/reload", token: rotated).status == 200)

                try FileManager.default.removeItem(at: files.operator)
                let refused = try call(proxy, "POST", "/reload", token: rotated)
                let yaml = try String(contentsOf: proxy.configFile, encoding: .utf8)
                let line =
                    try #require(
                        yaml.split(separator: "\n", omittingEmptySubsequences: false)
                            .firstIndex { $0.contains("operatorTokenFile") }) + 1
                #expect(refused.status == 422)
                #expect(
                    refused.text.contains(
                        "admin.operatorTokenFile: cannot read \(files.operator.path): No such file or directory (line \(line))"),
                    "\(refused.text)")
                #expect(try call(proxy, "POST", "/reload", token: rotated).status == 422, "the rotated token still rules")
                #expect(try call(proxy, "GET", "/status", token: Self.readerToken).status == 200)
            }
        }

        /// `--config` sends the config's operator token; `--token-file` any token; without one, 401.
        @Test func theCommandLineSendsItsToken() throws {
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream)
            try withProxy(config) { proxy in
                let files = try installTokens(proxy, config)
                let address = "127.0.0.1:\(proxy.adminPort)"
                let bare = try CanarygateBinary.run(["reload", "--admin", address])
                #expect(bare.status == 1 && bare.stderr.contains("unauthorized"), "\(bare.status) \(bare.stderr)")
                let byConfig = try CanarygateBinary.run(["reload", "--config", proxy.configFile.path])
                #expect(
                    byConfig.status == 0 && byConfig.stdout.contains("reloaded"), "\(byConfig.status) \(byConfig.stdout)\(byConfig.stderr)")
                let status = try CanarygateBinary.run(["status", "--admin", address, "--token-file", files.reader.path])
                #expect(status.status == 0 && status.stdout.contains("\"routes\""), "\(status.status) \(status.stderr)")
                let readerReload = try CanarygateBinary.run(["reload", "--admin", address, "--token-file", files.reader.path])
                #expect(
                    readerReload.status == 1 && readerReload.stderr.contains("forbidden"), "\(readerReload.status) \(readerReload.stderr)")
                let verb = try CanarygateBinary.run(["pause", "web", "--config", proxy.configFile.path])
                #expect(verb.status != 0 && !verb.stderr.contains("unauthorized"), "the verb was refused for its token: \(verb.stderr)")
                let noFile = try CanarygateBinary.run(["status", "--admin", address, "--token-file", proxy.dir.url.path + "/none"])
                #expect(noFile.status == 2 && noFile.stderr.contains("--token-file: cannot read"), "\(noFile.status) \(noFile.stderr)")
            }
        }

        @Test func validateRefusesAnAdminAddressBeyondLoopbackWithoutAToken() throws {
            let dir = try TempDir.make()
            defer { dir.remove() }
            let yaml = ProxyConfig(routes: [RouteSpec(primary: ArmSpec("v1", ["127.0.0.1:9001"]))])
                .yaml(listenPort: 18080, adminPort: 19901)
                .replacingOccurrences(of: "address: 127.0.0.1:19901", with: "address: 0.0.0.0:19901")
            let line =
                try #require(yaml.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("0.0.0.0:19901") }) + 1
            let file = try dir.write("open.yaml", yaml)
            let outcome = try CanarygateBinary.run(["validate", "--config", file.path])
            #expect(outcome.status == 2)
            let expected =
                "admin.address: 0.0.0.0:19901 is reachable from other hosts; set admin.operatorTokenFile, or listen on loopback (line \(line))"
            #expect(outcome.stderr.contains(expected), "want \(expected.debugDescription), got:\n\(outcome.stderr)")
        }
    }
}
