// A corrupt state file end to end: the canary held at weight 0, the file kept aside, the operator decides.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("Corrupt state file")
    struct CorruptState {
        static func logExcerpt(_ proxy: RolloutProxy) -> String {
            proxy.log.split(separator: "\n").suffix(30).joined(separator: "\n")
        }

        @Test func aCorruptStateFileHoldsTheCanaryAtZeroUntilAnOperatorRetries() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            let dir = try TempDir.make()
            let stateFile = dir.url.appendingPathComponent("state.json")
            let garbage = "{\"routes\":[{\"route\":\"web\",\"phase\":\"Fail"
            try garbage.write(to: stateFile, atomically: true, encoding: .utf8)
            let marker = dir.url.appendingPathComponent("pre-rollout.ran")
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.statePath = stateFile.path
            spec.hooks = [.exec("smoke", "pre-rollout", ["sh", "-c", "echo $CANARYGATE_REVISION >> '\(marker.path)'"])]
            try withRolloutProxy(spec, dir: dir) { proxy in
                let (held, met) = try withLoad(proxy.port) { _ in
                    try proxy.waitForRollout(timeout: 5) { $0.phase == "Held" }
                }
                #expect(met, "not held after a corrupt state file: \(held)\n\(Self.logExcerpt(proxy))")
                #expect(held.weight == 0 && held.routeWeight == 0, "weights while held: \(held)")
                #expect(held.message.contains("could not be read") && held.message.contains("retry"), "message: \(held.message)")
                // Held means held: no readiness, no hook, no request to the canary.
                let canaryBefore = canary.requestCount
                try withLoad(proxy.port) { _ in usleep(1_000_000) }
                #expect(canary.requestCount == canaryBefore, "the held canary got \(canary.requestCount - canaryBefore) requests")
                #expect(!FileManager.default.fileExists(atPath: marker.path), "the pre-rollout hook ran for a held revision")
                // The unreadable file is kept aside, byte for byte.
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.url.path)) ?? []
                let aside = names.filter { $0.hasPrefix("state.json.corrupt-") }
                #expect(aside.count == 1, "files: \(names)")
                if let name = aside.first {
                    #expect(held.message.contains(name), "message: \(held.message)")
                    #expect((try? String(contentsOf: dir.url.appendingPathComponent(name), encoding: .utf8)) == garbage)
                }
                #expect(try proxy.verb("resume").status == 409)
                #expect(try proxy.verb("retry").status == 200)
                let (after, promoted) = try withLoad(proxy.port) { _ in
                    try proxy.waitForRollout(timeout: 15) { ["Promoted", "Failed"].contains($0.phase) }
                }
                #expect(promoted && after.phase == "Promoted", "after retry: \(after)\n\(Self.logExcerpt(proxy))")
                #expect((try? String(contentsOf: marker, encoding: .utf8)) == "v2\n")
            }
        }
    }
}
