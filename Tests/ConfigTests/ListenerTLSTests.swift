// `listeners[].tls`: certificate and private key paths, both required, unknown keys refused.
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

    @Test func certificateAndKeyAreRead() throws {
        let parsed = try ConfigLoader.parse(config("{ certificate: /etc/canarygate/cert.pem, privateKey: /etc/canarygate/key.pem }"))
        #expect(parsed.listeners[0].tls == ListenerTLSConfig(certificate: "/etc/canarygate/cert.pem", privateKey: "/etc/canarygate/key.pem"))
    }

    @Test func aPlainListenerHasNoTLS() throws {
        let parsed = try ConfigLoader.parse(config("~"))
        #expect(parsed.listeners[0].tls == nil)
    }

    @Test func missingAndUnknownKeysAreNamedWithTheirLines() {
        // Both problems sit on the flow mapping's line; their order between them is not the point.
        #expect(Set(problems(config("{ certificate: /c.pem, key: /k.pem }"))) == [
            "listeners[0].tls.privateKey: required (line 4)",
            "listeners[0].tls.key: unknown key (line 4)",
        ])
    }
}
