// SNI: the certificate a client is served follows the name it asks for (exact, wildcard, any case), else the default.
import Testing
@testable import TLS

/// Four certificates in this order: the default, a wildcard one, an exact one and one named by its
/// CN only. The others' CNs are none of their DNS names, so a match can only come from the
/// subjectAltName; `shared.test` is in two of them.
private struct SNIFixture {
    let dir: TempDirectory
    let context: TLSContext

    init(alpn: [String] = ["http/1.1"]) throws {
        dir = try TempDirectory()
        let pairs = [
            try Certificate.make(in: dir, prefix: "default-", subject: "/CN=default-cert", dnsNames: ["default.test"]),
            try Certificate.make(in: dir, prefix: "wildcard-", subject: "/CN=wildcard-cert", dnsNames: ["*.wild.test", "shared.test"]),
            try Certificate.make(in: dir, prefix: "exact-", subject: "/CN=exact-cert", dnsNames: ["exact.wild.test", "Shared.TEST"]),
            try Certificate.make(in: dir, prefix: "cn-", subject: "/CN=cn-only.test"),
        ]
        context = try TLSContext(keyPairs: pairs.map(\.keyPair), alpn: alpn)
    }

    /// The subject CN of the certificate `openssl s_client` is served with `flags`, and the handshake.
    func served(_ flags: [String]) throws -> (subject: String?, outcome: HandshakeOutcome) {
        let outcome = try handshake(context: context, in: dir, clientFlags: flags)
        // s_client prints the leaf's subject as `subject=CN = name`.
        let line = outcome.clientOutput.split(separator: "\n").first { $0.hasPrefix("subject=") }
        return (line.map { String($0.dropFirst("subject=".count)) }, outcome)
    }
}

@Suite("SNI certificate selection", .serialized)
struct SNITests {
    @Test(arguments: [
        ("default.test", "default-cert"),
        ("exact.wild.test", "exact-cert"),  // exact beats the wildcard listed before it
        ("a.wild.test", "wildcard-cert"),
        ("A.Wild.TEST", "wildcard-cert"),
        ("EXACT.wild.test", "exact-cert"),
        ("shared.test", "wildcard-cert"),  // two certificates name it: the earlier one
        ("cn-only.test", "cn-only.test"),
        ("a.b.wild.test", "default-cert"),  // a wildcard is one label
        ("wild.test", "default-cert"),
        ("unknown.test", "default-cert"),
        ("default-cert", "default-cert"),
        ("exact-cert", "default-cert"),  // a CN is ignored when there is a DNS subjectAltName
    ])
    func serverNamePicksTheCertificate(name: String, expected: String) throws {
        let fixture = try SNIFixture()
        defer { fixture.dir.remove() }
        let (subject, outcome) = try fixture.served(["-servername", name])
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(subject == "CN = \(expected)", "\(outcome.clientOutput)")
    }

    @Test func noServerNameGetsTheDefault() throws {
        let fixture = try SNIFixture()
        defer { fixture.dir.remove() }
        let (subject, outcome) = try fixture.served(["-noservername"])
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(subject == "CN = default-cert", "\(outcome.clientOutput)")
        #expect(outcome.clientStatus == 0, "\(outcome.clientOutput)")
    }

    /// The ALPN callback must run on the context SNI switched to, not only on the default one.
    @Test func alpnOffersH2OnlyWhenTheContextDoes() throws {
        let withH2 = try SNIFixture(alpn: ["h2", "http/1.1"])
        defer { withH2.dir.remove() }
        let switched = try withH2.served(["-servername", "a.wild.test", "-alpn", "h2,http/1.1"])
        #expect(switched.subject == "CN = wildcard-cert", "\(switched.outcome.clientOutput)")
        #expect(switched.outcome.alpn == "h2")
        #expect(switched.outcome.clientOutput.contains("ALPN protocol: h2"), "\(switched.outcome.clientOutput)")

        let without = try SNIFixture(alpn: ["http/1.1"])
        defer { without.dir.remove() }
        let plain = try without.served(["-servername", "a.wild.test", "-alpn", "h2,http/1.1"])
        #expect(plain.subject == "CN = wildcard-cert", "\(plain.outcome.clientOutput)")
        #expect(plain.outcome.alpn == "http/1.1")
        let h2Only = try without.served(["-servername", "a.wild.test", "-alpn", "h2"])
        #expect(h2Only.outcome.error == nil, "\(h2Only.outcome.error ?? "")")
        #expect(h2Only.outcome.alpn == nil)
    }
}

@Suite("Server names of certificates")
struct ServerNameTests {
    @Test func tableMatchesExactThenOneLabelWildcardsInAnyCase() {
        let table = ServerNameTable([["default.test"], ["*.Wild.test", "f*.partial.test", "*.*.double.test"], ["Exact.wild.test"]])
        #expect(table.certificateIndex(for: "DEFAULT.test") == 0)
        #expect(table.certificateIndex(for: "x.wild.TEST") == 1)
        #expect(table.certificateIndex(for: "exact.WILD.test") == 2)
        #expect(table.certificateIndex(for: "x.y.wild.test") == 0)
        #expect(table.certificateIndex(for: ".wild.test") == 0)
        #expect(table.certificateIndex(for: "wild.test") == 0)
        // Partial-label and multi-label wildcards are never matched.
        #expect(table.certificateIndex(for: "foo.partial.test") == 0)
        #expect(table.certificateIndex(for: "a.b.double.test") == 0)
        #expect(table.certificateIndex(for: "") == 0)
    }

    @Test func namesComeFromTheSubjectAltNameElseTheCN() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let both = try Certificate.make(in: dir, prefix: "both-", subject: "/CN=cn.test", dnsNames: ["a.test", "*.b.test"])
        let cnOnly = try Certificate.make(in: dir, prefix: "cn-", subject: "/CN=only-cn.test")
        let context = try TLSContext(keyPairs: [both.keyPair, cnOnly.keyPair])
        #expect(context.certificates.map(\.serverNames) == [["a.test", "*.b.test"], ["only-cn.test"]])
    }

    /// Only the default certificate can be served without a name; any other one without one is a mistake.
    @Test func aNamelessCertificateIsOnlyAllowedFirst() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let named = try Certificate.make(in: dir, prefix: "named-")
        let pair = try Certificate.make(in: dir, prefix: "nameless-", subject: "/O=No Name").keyPair
        _ = try TLSContext(keyPairs: [pair, named.keyPair])
        let error = #expect(throws: TLSError.self) { try TLSContext(keyPairs: [named.keyPair, pair]) }
        #expect(
            error?.description
                == "certificate \(pair.certificateFile): no DNS subjectAltName and no subject CN, so no server name can select it")
    }

    @Test func atLeastOneCertificate() {
        let error = #expect(throws: TLSError.self) { try TLSContext(keyPairs: []) }
        #expect(error?.description == "a TLS context needs at least one certificate")
    }
}
