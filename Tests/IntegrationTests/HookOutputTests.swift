// A hook's output over real processes: bounded and escaped in the event log, never in the state file.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Hook output")
    struct HookOutput {
        static func logExcerpt(_ proxy: RolloutProxy) -> String {
            proxy.log.split(separator: "\n").suffix(30).joined(separator: "\n")
        }

        @Test func hookOutputIsBoundedInStatusAndNeverReachesTheOwnerOnlyStateFile() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            let dir = try TempDir.make()
            let stateFile = dir.url.appendingPathComponent("state.json")
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.statePath = stateFile.path
            // 20,000 bytes of noise, then what a deploy script might print last: a credential.
            spec.hooks = [
                .exec(
                    "leaky", "pre-rollout",
                    ["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo 123456789; i=$((i+1)); done; echo token=OUTPUT-MARKER; exit 3"])
            ]
            try withRolloutProxy(spec, dir: dir) { proxy in
                let (s, ended) = try proxy.waitForRollout(timeout: 10) { $0.phase == "Failed" }
                #expect(ended, "the failing pre-rollout hook did not fail the rollout: \(s)\n\(Self.logExcerpt(proxy))")
                #expect(s.message.contains("leaky: exit 3"), "message: \(s.message)")
                let events = s.events.filter { $0.contains("OUTPUT-MARKER") }
                #expect(events.count == 1, "the hook's output in the event log: \(s.events)")
                if let line = events.first {
                    #expect(line.utf8.count < 4096 + 512, "an event line of \(line.utf8.count) bytes")
                    #expect(line.contains("bytes dropped"), "no note of the dropped output: \(line.prefix(300))")
                    #expect(!line.contains("\n"), "the output's line breaks are escaped")
                }
                let persisted = (try? String(contentsOf: stateFile, encoding: .utf8)) ?? ""
                #expect(persisted.contains("Failed"), "state file: \(persisted.prefix(300))")
                #expect(
                    !persisted.contains("OUTPUT-MARKER") && !persisted.contains("123456789"),
                    "hook output in the state file: \(persisted.prefix(500))")
                var info = stat()
                #expect(
                    stat(stateFile.path, &info) == 0 && info.st_mode & 0o777 == 0o600,
                    "state file mode \(String(info.st_mode & 0o7777, radix: 8))")
            }
        }
    }
}
