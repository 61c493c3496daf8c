// https webhooks against a Python HTTPS receiver on 127.0.0.1: verified certificates, secret headers, handshake deadlines.
import Config
import Foundation
import Testing
@testable import Rollout

@Suite struct HTTPSWebhookTests {
    let runner = HookRunner()
    let secret = "Bearer s3cret-hook-token"
    var secretHeader: WebhookHeader { WebhookHeader(name: "Authorization", value: secret, file: "/etc/canarygate/hook-token") }

    @Test func theRightCAPassesAndTheSecretHeaderArrives() async throws {
        let directory = try WebhookTestDirectory()
        defer { directory.remove() }
        let certificate = try directory.makeCertificate("hooks", altNames: "IP:127.0.0.1")
        let receiver = try HTTPSWebhookReceiver(certificate: certificate, in: directory)
        defer { receiver.stop() }

        let hook = webhook(
            "gate", url: receiver.url(), headers: [secretHeader, WebhookHeader(name: "X-Team", value: "payments")],
            caFile: certificate.certificate)
        let result = await runner.results([hookRequest(hook, revision: "v2")])[0]
        #expect(result.passed, "\(result.detail)")
        #expect(result.detail == "HTTP 200")
        #expect(result.attempts == 1)

        let request = try #require(receiver.requests.first)
        #expect(request.path == "/hooks/gate?x=1")
        #expect(request.headers["Authorization"] == secret)
        #expect(request.headers["X-Team"] == "payments")
        #expect(request.headers["Host"] == "127.0.0.1:\(receiver.port)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any])
        #expect(json["name"] as? String == "gate")
        #expect(json["revision"] as? String == "v2")
    }

    /// Without a caFile the system's trust store is used, which does not hold the test CA: verified, not merely encrypted.
    @Test func withoutACAFileTheSystemStoreRefusesATestCertificate() async throws {
        let directory = try WebhookTestDirectory()
        defer { directory.remove() }
        let receiver = try HTTPSWebhookReceiver(
            certificate: try directory.makeCertificate("hooks", altNames: "IP:127.0.0.1"), in: directory)
        defer { receiver.stop() }

        let result = await runner.results([hookRequest(webhook("gate", url: receiver.url(), retries: 1, headers: [secretHeader]))])[0]
        #expect(!result.passed)
        #expect(result.attempts == 2, "counted as a failed attempt, and retried like one")
        #expect(result.detail == "TLS handshake with 127.0.0.1: certificate verify failed: self-signed certificate")
        #expect(receiver.requests.isEmpty)
    }

    @Test func theWrongCAFails() async throws {
        let directory = try WebhookTestDirectory()
        defer { directory.remove() }
        let receiver = try HTTPSWebhookReceiver(
            certificate: try directory.makeCertificate("hooks", altNames: "IP:127.0.0.1"), in: directory)
        defer { receiver.stop() }
        let other = try directory.makeCertificate("other", altNames: "IP:127.0.0.1")

        let result = await runner.results([
            hookRequest(webhook("gate", url: receiver.url(), headers: [secretHeader], caFile: other.certificate))
        ])[0]
        #expect(!result.passed)
        #expect(result.detail == "TLS handshake with 127.0.0.1: certificate verify failed: self-signed certificate")
        #expect(receiver.requests.isEmpty, "the secret header must not reach a server that failed verification")
    }

    @Test func aCertificateForAnotherNameFails() async throws {
        let directory = try WebhookTestDirectory()
        defer { directory.remove() }
        let certificate = try directory.makeCertificate("hooks", altNames: "DNS:hooks.example")
        let receiver = try HTTPSWebhookReceiver(certificate: certificate, in: directory)
        defer { receiver.stop() }

        // Trusted, but issued for hooks.example, not for the URL's host.
        let result = await runner.results([hookRequest(webhook("gate", url: receiver.url(), caFile: certificate.certificate))])[0]
        #expect(!result.passed)
        #expect(result.detail == "TLS handshake with 127.0.0.1: certificate verify failed: IP address mismatch")
        #expect(receiver.requests.isEmpty)
    }

    /// The receiver answers 401 and repeats the Authorization header in its body: the hook fails, and
    /// neither its result (what the event log, /status and the state file get) nor its description shows the secret.
    @Test func theSecretNeverAppearsInTheResult() async throws {
        let directory = try WebhookTestDirectory()
        defer { directory.remove() }
        let certificate = try directory.makeCertificate("hooks", altNames: "IP:127.0.0.1")
        let receiver = try HTTPSWebhookReceiver(certificate: certificate, status: 401, in: directory)
        defer { receiver.stop() }

        let hook = webhook("gate", url: receiver.url(), headers: [secretHeader], caFile: certificate.certificate)
        let result = await runner.results([hookRequest(hook)])[0]
        #expect(!result.passed)
        #expect(result.detail == "HTTP 401: refused: [redacted]")
        #expect(receiver.requests.first?.headers["Authorization"] == secret)
        for text in [result.detail, String(describing: result), String(describing: hook)] {
            #expect(!text.contains("s3cret"), "\(text)")
        }
    }

    /// A server that accepts and never answers the ClientHello: the hook's timeout bounds the handshake.
    @Test func theTimeoutBoundsTheHandshake() async throws {
        let silent = try TestWebhookServer { _ in nil }
        defer { silent.stop() }
        let clock = ContinuousClock()
        let started = clock.now
        let result = await runner.results([
            hookRequest(webhook("gate", url: "https://127.0.0.1:\(silent.port)/", timeout: .milliseconds(300)))
        ])[0]
        let elapsed = clock.now - started
        #expect(!result.passed)
        #expect(result.detail == "timed out after 0.3s")
        #expect(elapsed >= .milliseconds(290))
        #expect(elapsed < .seconds(30), "took \(elapsed)")
    }

    @Test func aCAFileThatCannotBeLoadedFailsAtOnce() async throws {
        let directory = try WebhookTestDirectory()
        defer { directory.remove() }
        let result = await runner.results([
            hookRequest(webhook("gate", url: "https://127.0.0.1:1/", retries: 3, caFile: directory.file("gone.pem")))
        ])[0]
        #expect(!result.passed)
        #expect(result.attempts == 1)
        #expect(result.detail == "CA file \(directory.file("gone.pem")): no such file")
    }
}
