// `listeners[].tls`: a default certificate and/or a `certificates` list, at least one, unknown keys refused.
import Config
import Testing

@Suite struct ListenerTLSTests {
    private func config(_ tls: String) -> String {
        """
        listeners:
          - name: https
            address: 127.0.0.1:8443
            tls: \(tls)
        routes:
          - name: web
            primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
        """
    }

    private func pair(_ name: String) -> CertificateConfig {
        CertificateConfig(certificate: "/etc/canarygate/\(name)-cert.pem", privateKey: "/etc/canarygate/\(name)-key.pem")
    }

    @Test func certificateAndKeyAreRead() throws {
        let parsed = try ConfigLoader.parse(config("{ certificate: /etc/canarygate/a-cert.pem, privateKey: /etc/canarygate/a-key.pem }"))
        #expect(parsed.listeners[0].tls == ListenerTLSConfig(certificates: [pair("a")]))
    }

    @Test func aCertificatesListIsReadInOrder() throws {
        let parsed = try ConfigLoader.parse(
            config(
                """

                      certificates:
                        - { certificate: /etc/canarygate/a-cert.pem, privateKey: /etc/canarygate/a-key.pem }
                        - certificate: /etc/canarygate/b-cert.pem
                          privateKey: /etc/canarygate/b-key.pem
                """))
        #expect(parsed.listeners[0].tls == ListenerTLSConfig(certificates: [pair("a"), pair("b")]))
    }

    @Test func theSingleCertificateComesFirstAsTheDefault() throws {
        let parsed = try ConfigLoader.parse(
            config(
                """

                      certificates:
                        - { certificate: /etc/canarygate/b-cert.pem, privateKey: /etc/canarygate/b-key.pem }
                      certificate: /etc/canarygate/a-cert.pem
                      privateKey: /etc/canarygate/a-key.pem
                """))
        #expect(parsed.listeners[0].tls == ListenerTLSConfig(certificates: [pair("a"), pair("b")]))
    }

    @Test func aPlainListenerHasNoTLS() throws {
        let parsed = try ConfigLoader.parse(config("~"))
        #expect(parsed.listeners[0].tls == nil)
    }

    @Test func missingAndUnknownKeysAreNamedWithTheirLines() {
        // Both problems sit on the flow mapping's line; their order between them is not the point.
        #expect(
            Set(problems(config("{ certificate: /c.pem, key: /k.pem }"))) == [
                "listeners[0].tls.privateKey: required (line 4)",
                "listeners[0].tls.key: unknown key (line 4)",
            ])
        #expect(problems(config("{ privateKey: /k.pem }")) == ["listeners[0].tls.certificate: required (line 4)"])
    }

    @Test func noCertificateAtAllIsRefused() {
        let message = "listeners[0].tls: needs a certificate: certificate and privateKey, or a certificates list (line 4)"
        #expect(problems(config("{}")) == [message])
        #expect(problems(config("{ certificates: [] }")) == [message])
        #expect(problems(config("{ certificates: ~ }")) == [message])
    }

    @Test func listEntriesAreCheckedWithTheirPathAndLine() {
        #expect(
            problems(
                config(
                    """

                          certificates:
                            - { certificate: /a.pem, privateKey: /a-key.pem }
                            - certificate: /b.pem
                              key: /b-key.pem
                    """)) == [
                    "listeners[0].tls.certificates[1].privateKey: required (line 7)",
                    "listeners[0].tls.certificates[1].key: unknown key (line 8)",
                ])
        #expect(problems(config("{ certificates: /a.pem }")) == ["listeners[0].tls.certificates: expected a list (line 4)"])
        #expect(
            problems(config("{ certificates: [{ certificate: \"\", privateKey: /k.pem }] }"))
                == ["listeners[0].tls.certificates[0].certificate: must not be empty (line 4)"])
    }
}

@Suite struct ListenerHTTP2Tests {
    private func config(_ http2: String?) -> String {
        """
        listeners:
          - name: http
            address: 127.0.0.1:8080
        \(http2.map { "    http2: \($0)" } ?? "")
        routes:
          - name: web
            primary: { revision: v1, endpoints: ["127.0.0.1:9001"] }
        """
    }

    @Test func onByDefault() throws {
        #expect(try ConfigLoader.parse(config(nil)).listeners[0].http2 == true)
        #expect(try ConfigLoader.parse(config("~")).listeners[0].http2 == true)
    }

    @Test func canBeSwitchedOff() throws {
        #expect(try ConfigLoader.parse(config("false")).listeners[0].http2 == false)
        #expect(try ConfigLoader.parse(config("true")).listeners[0].http2 == true)
    }

    @Test func aNonBooleanIsRefusedWithFieldAndLine() {
        #expect(problems(config("yes")) == [#"listeners[0].http2: expected true or false, found "yes" (line 4)"#])
        #expect(problems(config("[h2]")) == ["listeners[0].http2: expected true or false (line 4)"])
    }
}
