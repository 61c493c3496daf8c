// The state file's directory against other users: refused at start and at reload when others can write it.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("State directory")
    struct StateDirectory {
        @Test func aStateDirectoryOthersCanWriteIsRefusedAtStartAndAtReload() throws {
            let primary = try TestUpstream.arm("primary", text: "v1")
            let canary = try TestUpstream.arm("canary", text: "v2")
            defer { primary.stop(); canary.stop() }
            let dir = try TempDir.make()
            defer { dir.remove() }
            let shared = dir.url.appendingPathComponent("shared")
            try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
            #expect(chmod(shared.path, 0o1777) == 0)
            var spec = RolloutSpec(primary: primary, canary: canary)
            spec.statePath = shared.appendingPathComponent("state.json").path
            do {
                let proxy = try RolloutProxy(spec, dir: dir)
                proxy.stop()
                Issue.record("started with its state file in a world-writable directory")
            } catch ProxyError.exitedEarly(_, let log) {
                #expect(log.contains("state.path") && log.contains(shared.path) && log.contains("1777"), "log: \(log.suffix(1000))")
            }
            #expect(!FileManager.default.fileExists(atPath: spec.statePath!))

            // Started with a private directory that later becomes writable by the group: the reload is refused.
            let own = dir.url.appendingPathComponent("own")
            try FileManager.default.createDirectory(at: own, withIntermediateDirectories: true)
            #expect(chmod(own.path, 0o700) == 0)
            spec.statePath = own.appendingPathComponent("state.json").path
            try withRolloutProxy(spec, dir: dir) { proxy in
                #expect(chmod(own.path, 0o770) == 0)
                let response = try proxy.reload(spec)
                #expect(
                    response.status == 422 && response.text.contains("state.path") && response.text.contains(own.path),
                    "reload answered \(response.status): \(response.text)")
                #expect(chmod(own.path, 0o700) == 0)
                let again = try proxy.reload(spec)
                #expect(again.status == 200, "reload answered \(again.status): \(again.text)")
            }
        }
    }
}
