// The `cluster` section: names, etcd endpoints, lease and publish timing, TLS files, and each rule's error and line.
import Config
import Foundation
import Testing

@Suite struct ClusterConfigTests {
    /// `minimalConfig` with a `cluster:` section at line 9, its keys (indented by the caller) from line 10, where
    /// a missing key is reported (a block mapping starts at its first key).
    private func withCluster(_ keys: String) -> String { minimalConfig + "cluster:\n" + keys }

    /// `withCluster` with a valid name (line 10) and one http endpoint (line 11), then `more` from line 12.
    private func withFleet(_ more: String = "") -> String {
        withCluster("  name: shop\n  etcd: [\"http://127.0.0.1:2379\"]\n" + more)
    }

    private func cluster(_ yaml: String) throws -> ClusterConfig { try #require(try ConfigLoader.parse(yaml).cluster) }

    /// The first problem of `withCluster("  name: shop\n  etcd: [URL]\n")`, the URL written as given.
    private func endpointProblem(_ url: String) -> String? {
        problems(withCluster("  name: shop\n  etcd: [\"\(url)\"]\n")).first
    }

    @Test func absentClusterIsNil() throws {
        #expect(try ConfigLoader.parse(minimalConfig).cluster == nil)
        #expect(try ConfigLoader.parse(minimalConfig + "cluster:\n").cluster == nil)
    }

    @Test func defaults() throws {
        let config = try cluster(withFleet())
        #expect(config == ClusterConfig(name: "shop", etcd: [EtcdEndpoint(secure: false, host: "127.0.0.1", port: 2379)]))
        #expect(config.replica == nil)
        #expect(config.leaseTTL == .seconds(3))
        #expect(config.publishInterval == .milliseconds(500))
        #expect(config.tls == nil)
    }

    @Test func fullExampleHasExactlyItsValues() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let ca = try files.write("ca.pem", testCertificate)
        let cert = try files.write("replica.pem", testCertificate)
        let key = try files.write("replica-key.pem", testKey)
        let config = try cluster(
            withCluster(
                """
                  name: shop.eu-1
                  replica: ingress_a-2
                  etcd: ["https://etcd-1.internal:2379", "HTTPS://ETCD-2.internal", "https://[fd00::2]:12379/"]
                  leaseTTL: 10s
                  publishInterval: 5s
                  tls: { caFile: \(ca), certFile: \(cert), keyFile: \(key) }

                """))
        var expected = ClusterConfig(
            name: "shop.eu-1", replica: "ingress_a-2",
            etcd: [
                EtcdEndpoint(secure: true, host: "etcd-1.internal", port: 2379),
                EtcdEndpoint(secure: true, host: "etcd-2.internal", port: 2379),
                EtcdEndpoint(secure: true, host: "fd00::2", port: 12379),
            ])
        expected.leaseTTL = .seconds(10)
        expected.publishInterval = .seconds(5)
        expected.tls = ClusterTLSConfig(caFile: ca, certFile: cert, keyFile: key)
        #expect(config == expected)
        #expect(
            config.etcd.map(\.description) == ["https://etcd-1.internal:2379", "https://etcd-2.internal:2379", "https://[fd00::2]:12379"])
    }

    @Test func httpsWithoutTLSUsesTheSystemCAs() throws {
        let config = try cluster(withCluster("  name: shop\n  etcd: [\"https://etcd.internal:2379\"]\n"))
        #expect(config.etcd == [EtcdEndpoint(secure: true, host: "etcd.internal", port: 2379)])
        #expect(config.tls == nil)
    }

    @Test func tlsWithACAFileAlone() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let ca = try files.write("ca.pem", testCertificate)
        let config = try cluster(withCluster("  name: shop\n  etcd: [\"https://etcd.internal\"]\n  tls: { caFile: \(ca) }\n"))
        #expect(config.tls == ClusterTLSConfig(caFile: ca))
    }

    @Test func nameIsRequiredAndLimitedToItsCharset() throws {
        #expect(problems(withCluster("  etcd: [\"http://127.0.0.1:2379\"]\n")) == ["cluster.name: required (line 10)"])
        #expect(
            problems(withCluster("  name: \"\"\n  etcd: [\"http://127.0.0.1:2379\"]\n")) == ["cluster.name: must not be empty (line 10)"])
        #expect(
            problems(withCluster("  name: shop/eu\n  etcd: [\"http://127.0.0.1:2379\"]\n")) == [
                #"cluster.name: "shop/eu" may contain only letters, digits, ".", "_" and "-" (line 10)"#
            ])
        #expect(
            problems(withCluster("  name: café\n  etcd: [\"http://127.0.0.1:2379\"]\n")) == [
                #"cluster.name: "café" may contain only letters, digits, ".", "_" and "-" (line 10)"#
            ])
        let longest = String(repeating: "a", count: 64)
        #expect(try cluster(withCluster("  name: \(longest)\n  etcd: [\"http://127.0.0.1:2379\"]\n")).name == longest)
        #expect(
            problems(withCluster("  name: \(longest)b\n  etcd: [\"http://127.0.0.1:2379\"]\n")) == [
                "cluster.name: \"\(longest)b\" is longer than 64 characters (line 10)"
            ])
        #expect(
            problems(withCluster("  name: [shop]\n  etcd: [\"http://127.0.0.1:2379\"]\n")) == ["cluster.name: expected a name (line 10)"])
    }

    @Test func replicaIsOptionalWithTheSameCharset() throws {
        #expect(try cluster(withFleet("  replica: a\n")).replica == "a")
        #expect(
            problems(withFleet("  replica: \"ingress a\"\n")) == [
                #"cluster.replica: "ingress a" may contain only letters, digits, ".", "_" and "-" (line 12)"#
            ])
        #expect(
            problems(withFleet("  replica: \(String(repeating: "r", count: 65))\n")) == [
                "cluster.replica: \"\(String(repeating: "r", count: 65))\" is longer than 64 characters (line 12)"
            ])
    }

    @Test func etcdIsARequiredNonEmptyList() {
        #expect(problems(withCluster("  name: shop\n")) == ["cluster.etcd: required (line 10)"])
        #expect(problems(withCluster("  name: shop\n  etcd: []\n")) == ["cluster.etcd: needs at least one entry (line 11)"])
        #expect(
            problems(withCluster("  name: shop\n  etcd: http://127.0.0.1:2379\n")) == ["cluster.etcd: expected a list (line 11)"])
        #expect(
            problems(withCluster("  name: shop\n  etcd: [{ url: x }]\n")) == [
                #"cluster.etcd[0]: expected a URL like "http://127.0.0.1:2379" (line 11)"#
            ])
    }

    @Test func endpointPortDefaultsTo2379() throws {
        let config = try cluster(withCluster("  name: shop\n  etcd: [\"http://etcd\", \"http://[::1]/\", \"http://10.0.0.1:32379\"]\n"))
        #expect(
            config.etcd == [
                EtcdEndpoint(secure: false, host: "etcd", port: 2379),
                EtcdEndpoint(secure: false, host: "::1", port: 2379),
                EtcdEndpoint(secure: false, host: "10.0.0.1", port: 32379),
            ])
    }

    @Test func endpointSchemeMustBeHTTPOrHTTPS() {
        #expect(
            endpointProblem("127.0.0.1:2379")
                == #"cluster.etcd[0]: "127.0.0.1:2379" must start with "http://" or "https://" (line 11)"#)
        #expect(
            endpointProblem("unix:///run/etcd.sock")
                == #"cluster.etcd[0]: "unix:///run/etcd.sock" must start with "http://" or "https://" (line 11)"#)
        #expect(endpointProblem("http://etcd 1:2379") == "cluster.etcd[0]: may contain only visible ASCII characters, no spaces (line 11)")
    }

    @Test func endpointCredentialsAreRefusedWithoutShowingThem() throws {
        let problem = try #require(endpointProblem("http://root:hunter2@127.0.0.1:2379"))
        #expect(
            problem
                == "cluster.etcd[0]: must not carry credentials (user:password@); use tls certFile and keyFile to authenticate (line 11)")
        #expect(!problem.contains("hunter2"))
    }

    @Test func endpointHasNoPathQueryOrFragment() {
        #expect(
            endpointProblem("http://127.0.0.1:2379/v3")
                == #"cluster.etcd[0]: "http://127.0.0.1:2379/v3" has a path; etcd is reached at its root: write scheme://host:port (line 11)"#
        )
        #expect(
            endpointProblem("http://127.0.0.1:2379?x=1")
                == #"cluster.etcd[0]: "http://127.0.0.1:2379?x=1" must not have a query or fragment; write scheme://host:port (line 11)"#)
        #expect(
            endpointProblem("http://127.0.0.1:2379/#top")
                == #"cluster.etcd[0]: "http://127.0.0.1:2379/#top" must not have a query or fragment; write scheme://host:port (line 11)"#)
    }

    @Test func endpointHostAndPortAreChecked() {
        #expect(endpointProblem("http://") == #"cluster.etcd[0]: "http://" has no host (line 11)"#)
        #expect(
            endpointProblem("http://:2379")
                == #"cluster.etcd[0]: ":2379" has no host; expected host:port like "127.0.0.1:8080" or "[::1]:8080" (line 11)"#)
        #expect(endpointProblem("http://127.0.0.1:0") == "cluster.etcd[0]: port 0 is not in 1...65535 (line 11)")
        #expect(endpointProblem("http://127.0.0.1:http") == "cluster.etcd[0]: port http is not in 1...65535 (line 11)")
        #expect(endpointProblem("http://10.0.0.300") == #"cluster.etcd[0]: "10.0.0.300" is not an IPv4 address (line 11)"#)
        #expect(
            endpointProblem("http://::1:2379")
                == #"cluster.etcd[0]: "::1:2379": an IPv6 address must be in brackets, like "[::1]:8080" (line 11)"#)
        #expect(endpointProblem("http://[::1") == #"cluster.etcd[0]: "http://[::1" has no "]" after an IPv6 address (line 11)"#)
        #expect(endpointProblem("http://[fe80::zz]:2379") == #"cluster.etcd[0]: "fe80::zz" is not an IPv6 address (line 11)"#)
    }

    @Test func duplicateEndpointsAreRefused() {
        #expect(
            problems(withCluster("  name: shop\n  etcd:\n    - http://127.0.0.1:2379\n    - http://127.0.0.1\n")) == [
                #"cluster.etcd[1]: "http://127.0.0.1:2379" duplicates cluster.etcd[0] (line 13)"#
            ])
        #expect(
            problems(withCluster("  name: shop\n  etcd: [\"http://Etcd:2379\", \"http://etcd:2379/\"]\n")) == [
                #"cluster.etcd[1]: "http://etcd:2379" duplicates cluster.etcd[0] (line 11)"#
            ])
    }

    @Test func mixedSchemesAreRefused() {
        #expect(
            problems(withCluster("  name: shop\n  etcd: [\"https://etcd-1:2379\", \"http://etcd-2:2379\"]\n")) == [
                "cluster.etcd: mixes http:// and https:// endpoints; reach etcd one way (https:// with tls, or http://) (line 11)"
            ])
    }

    @Test func leaseTTLIsBetween2And60Seconds() throws {
        #expect(try cluster(withFleet("  leaseTTL: 2s\n  publishInterval: 1s\n")).leaseTTL == .seconds(2))
        #expect(try cluster(withFleet("  leaseTTL: 1m\n")).leaseTTL == .seconds(60))
        #expect(problems(withFleet("  leaseTTL: 1999ms\n")) == [#"cluster.leaseTTL: "1999ms" is not in 2s...60s (line 12)"#])
        #expect(problems(withFleet("  leaseTTL: 61s\n")) == [#"cluster.leaseTTL: "61s" is not in 2s...60s (line 12)"#])
        #expect(
            problems(withFleet("  leaseTTL: 3\n")) == [#"cluster.leaseTTL: "3" has no unit; use us, ms, s, m or h, like "3s" (line 12)"#])
    }

    @Test func publishIntervalIsAtLeast100msAndAtMostHalfTheLease() throws {
        #expect(try cluster(withFleet("  publishInterval: 100ms\n")).publishInterval == .milliseconds(100))
        #expect(try cluster(withFleet("  publishInterval: 1500ms\n")).publishInterval == .milliseconds(1500))
        #expect(try cluster(withFleet("  leaseTTL: 60s\n  publishInterval: 30s\n")).publishInterval == .seconds(30))
        #expect(problems(withFleet("  publishInterval: 99ms\n")) == [#"cluster.publishInterval: "99ms" is shorter than 100ms (line 12)"#])
        #expect(
            problems(withFleet("  publishInterval: 1501ms\n")) == [
                "cluster.publishInterval: 1501ms is longer than half the leaseTTL (1500ms) (line 12)"
            ])
        #expect(
            problems(withFleet("  leaseTTL: 4s\n  publishInterval: 3s\n")) == [
                "cluster.publishInterval: 3s is longer than half the leaseTTL (2s) (line 13)"
            ])
    }

    @Test func tlsFilesMustExistAndHoldPEM() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let cert = try files.write("cert.pem", testCertificate)
        let key = try files.write("key.pem", testKey)
        let https = "  name: shop\n  etcd: [\"https://etcd:2379\"]\n"
        #expect(
            problems(withCluster(https + "  tls: { caFile: \(files.path)/absent.pem }\n")) == [
                "cluster.tls.caFile: \(files.path)/absent.pem: no such file (line 12)"
            ])
        #expect(
            problems(withCluster(https + "  tls: { caFile: \(files.path) }\n")) == [
                "cluster.tls.caFile: \(files.path): is a directory (line 12)"
            ])
        #expect(
            problems(withCluster(https + "  tls: { caFile: \(key) }\n")) == [
                "cluster.tls.caFile: \(key): holds no PEM certificate (-----BEGIN CERTIFICATE-----) (line 12)"
            ])
        #expect(
            problems(withCluster(https + "  tls: { certFile: \(cert), keyFile: \(cert) }\n")) == [
                "cluster.tls.keyFile: \(cert): holds no PEM private key (-----BEGIN PRIVATE KEY-----) (line 12)"
            ])
    }

    @Test func certFileAndKeyFileGoTogether() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let cert = try files.write("cert.pem", testCertificate)
        let key = try files.write("key.pem", testKey)
        let https = "  name: shop\n  etcd: [\"https://etcd:2379\"]\n  tls:\n"
        #expect(
            problems(withCluster(https + "    certFile: \(cert)\n")) == [
                "cluster.tls.keyFile: required with certFile: a client certificate needs its key (line 13)"
            ])
        #expect(
            problems(withCluster(https + "    keyFile: \(key)\n")) == [
                "cluster.tls.certFile: required with keyFile: a client certificate needs its key (line 13)"
            ])
        #expect(
            try cluster(withCluster(https + "    certFile: \(cert)\n    keyFile: \(key)\n")).tls
                == ClusterTLSConfig(certFile: cert, keyFile: key))
    }

    @Test func tlsNeedsAnHTTPSEndpointAndAFile() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let ca = try files.write("ca.pem", testCertificate)
        #expect(problems(withFleet("  tls: { caFile: \(ca) }\n")) == ["cluster.tls: no https:// endpoint uses it (line 12)"])
        #expect(
            problems(withCluster("  name: shop\n  etcd: [\"https://etcd:2379\"]\n  tls: {}\n")) == [
                "cluster.tls: names no file; write caFile, or certFile and keyFile (leave tls out to trust the system's CAs) (line 12)"
            ])
        #expect(problems(withFleet("  tls: \(ca)\n")) == ["cluster.tls: expected a mapping (line 12)"])
    }

    @Test func unknownKeysAreReported() throws {
        let files = try TempFiles()
        defer { files.remove() }
        let ca = try files.write("ca.pem", testCertificate)
        #expect(problems(withFleet("  leaseTtl: 3s\n")) == ["cluster.leaseTtl: unknown key (line 12)"])
        #expect(
            problems(withCluster("  name: shop\n  etcd: [\"https://etcd:2379\"]\n  tls:\n    caFile: \(ca)\n    ca: \(ca)\n")) == [
                "cluster.tls.ca: unknown key (line 14)"
            ])
    }

    @Test func stateFileIsStillAcceptedWithACluster() throws {
        let config = try ConfigLoader.parse(withFleet() + "state:\n  path: /var/lib/canarygate/state.json\n")
        #expect(config.state == StateConfig(path: "/var/lib/canarygate/state.json"))
        #expect(config.cluster?.name == "shop")
    }

    @Test func problemsAcrossKeysAreAllReportedInFileOrder() {
        #expect(
            problems(withCluster("  name: shop!\n  etcd: [\"ftp://etcd\"]\n  leaseTTL: 1s\n  publishInterval: 10ms\n")) == [
                #"cluster.name: "shop!" may contain only letters, digits, ".", "_" and "-" (line 10)"#,
                #"cluster.etcd[0]: "ftp://etcd" must start with "http://" or "https://" (line 11)"#,
                #"cluster.leaseTTL: "1s" is not in 2s...60s (line 12)"#,
                #"cluster.publishInterval: "10ms" is shorter than 100ms (line 13)"#,
            ])
    }
}

/// Enough of a PEM certificate for the decoder's check; libssl parses it only when etcd is reached.
private let testCertificate = """
    -----BEGIN CERTIFICATE-----
    MIIBfTCCASOgAwIBAgIUY2FuYXJ5Z2F0ZS1jbHVzdGVyMAoGCCqGSM49BAMCMBQx
    -----END CERTIFICATE-----

    """

/// Likewise a private key.
private let testKey = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgY2FuYXJ5Z2F0ZQ==
    -----END PRIVATE KEY-----

    """
