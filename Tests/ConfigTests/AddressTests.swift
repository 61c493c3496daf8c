// Addresses: IPv4, DNS names and bracketed IPv6, each with a port in 1...65535.
import Config
import Foundation
import Testing

@Suite struct AddressTests {
    /// The listener address is on line 3 of the result.
    private func withListener(_ address: String) -> String {
        minimalConfig.replacingOccurrences(of: "0.0.0.0:8080", with: address)
    }

    @Test(arguments: [
        ("127.0.0.1:1", HostPort(host: "127.0.0.1", port: 1)),
        ("0.0.0.0:65535", HostPort(host: "0.0.0.0", port: 65535)),
        ("localhost:8080", HostPort(host: "localhost", port: 8080)),
        ("api.example.com:443", HostPort(host: "api.example.com", port: 443)),
        ("my_service:80", HostPort(host: "my_service", port: 80)),
        (#""[::1]:8080""#, HostPort(host: "::1", port: 8080)),
        (#""[::]:80""#, HostPort(host: "::", port: 80)),
        (#""[2001:db8::7]:9000""#, HostPort(host: "2001:db8::7", port: 9000)),
    ])
    func valid(text: String, expected: HostPort) throws {
        #expect(try ConfigLoader.parse(withListener(text)).listeners[0].address == expected)
    }

    @Test(arguments: [
        ("0.0.0.0:0", "port 0 is not in 1...65535"),
        ("0.0.0.0:65536", "port 65536 is not in 1...65535"),
        ("0.0.0.0:http", "port http is not in 1...65535"),
        ("0.0.0.0:+80", "port +80 is not in 1...65535"),
        ("0.0.0.0", #""0.0.0.0" has no port; expected host:port like "127.0.0.1:8080" or "[::1]:8080""#),
        (#""localhost:""#, #""localhost:" has no port; expected host:port like "127.0.0.1:8080" or "[::1]:8080""#),
        (#"":8080""#, #"":8080" has no host; expected host:port like "127.0.0.1:8080" or "[::1]:8080""#),
        (#""[::1]""#, #""[::1]" has no port; expected host:port like "127.0.0.1:8080" or "[::1]:8080""#),
        (#""[::1:8080""#, #""[::1:8080" has no closing "]"; expected host:port like "127.0.0.1:8080" or "[::1]:8080""#),
        (#""[::1]8080""#, #""[::1]8080" has text after "]" that is not a port; expected host:port like "127.0.0.1:8080" or "[::1]:8080""#),
        (#""[1.2.3.4]:80""#, #""1.2.3.4" is not an IPv6 address"#),
        (#""::1:8080""#, #""::1:8080": an IPv6 address must be in brackets, like "[::1]:8080""#),
        ("10.0.0.256:80", #""10.0.0.256" is not an IPv4 address"#),
        ("1.2.3:80", #""1.2.3" is not an IPv4 address"#),
        ("-bad.example:80", #""-bad.example" is not a host name"#),
        (#""a b:80""#, #""a b" is not a host name"#),
        ("example..com:80", #""example..com" is not a host name"#),
    ])
    func invalid(text: String, message: String) {
        #expect(problems(withListener(text)) == ["listeners[0].address: \(message) (line 3)"])
    }

    @Test func endpointsAreCheckedOneByOne() {
        #expect(
            problems(
                """
                listeners: [{ name: http, address: 0.0.0.0:8080 }]
                routes:
                  - name: web
                    primary:
                      revision: v1
                      endpoints:
                        - 127.0.0.1:9001
                        - 127.0.0.1
                        - { host: a }
                """) == [
                    #"routes[0].primary.endpoints[1]: "127.0.0.1" has no port; expected host:port like "127.0.0.1:8080" or "[::1]:8080" (line 8)"#,
                    #"routes[0].primary.endpoints[2]: expected a string like "127.0.0.1:8080" (line 9)"#,
                ])
    }
}
