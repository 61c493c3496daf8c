// Notifications at shutdown: what is queued or waiting to be retried is sent in the flush; a hung receiver's is logged.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration.Alerts {
    /// A failed pre-rollout hook rolls back at once, an error notification for each alert. The flaky receiver
    /// refuses the first attempt (retried after 1 s), the hung one never answers; SIGTERM comes while both wait.
    @Test func shutdownSendsWhatWaitsForARetryAndLogsWhatItCannotSend() throws {
        let primary = try TestUpstream.arm("primary", text: "v1")
        let canary = try TestUpstream.arm("canary", text: "v2")
        let receiver = try AlertReceiver()
        let dir = try TempDir.make()
        defer { primary.stop(); canary.stop(); receiver.stop() }
        receiver.script("/flaky", [503])
        receiver.hang("/hang")
        var spec = RolloutSpec(primary: primary, canary: canary)
        spec.hooks = [.exec("smoke", "pre-rollout", ["sh", "-c", "exit 3"])]
        spec.alerts = [
            Self.alert("flaky", "webhook", receiver.url("/flaky"), "error"),
            Self.alert("hung", "webhook", receiver.url("/hang"), "error", extra: ", timeout: 20s, retries: 0"),
        ]
        let proxy = try RolloutProxy(spec, dir: dir)
        defer {
            proxy.stop()
            dir.remove()
        }
        #expect(
            Posix.waitUntil(timeout: 10) { receiver.requests("/flaky").count == 1 && receiver.requests("/hang").count == 1 },
            "\(Self.logExcerpt(proxy))")
        let signalled = Date()
        kill(proxy.pid, SIGTERM)
        #expect(proxy.child.wait(timeout: 10), "still running 10 s after SIGTERM")
        // The drain has no connection to wait for; the flush lasts at most 2 s.
        #expect(Date().timeIntervalSince(signalled) < 5)
        #expect(proxy.child.terminationStatus == 0, "\(Self.logExcerpt(proxy))")
        #expect(receiver.requests("/flaky").count == 2, "the retry was not sent during the flush\n\(Self.logExcerpt(proxy))")
        #expect(
            proxy.logLines(containing: "alerts: 1 notification(s) not sent before shutdown, discarded (hung: 1)").count == 1,
            "\(Self.logExcerpt(proxy))")
    }
}
