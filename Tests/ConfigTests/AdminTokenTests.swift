// `admin.operatorTokenFile`, `admin.readerTokenFile` and the loopback rule for `admin.address`.
import Config
import Foundation
import Testing

@Suite struct AdminTokenTests {
    /// A temp dir holding token files, removed at the end of the test.
    private final class TokenDir {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("cg-tokens-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func write(_ name: String, _ text: String) throws -> String {
            let file = "\(path)/\(name)"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    /// `minimalConfig` with an `admin:` section (line 9, its keys from line 10).
    private func withAdmin(_ keys: String) -> String { minimalConfig + "admin:\n" + keys }

    @Test func tokenFilesAreReadWithoutTheirNewline() throws {
        let dir = try TokenDir()
        let operatorFile = try dir.write("operator", "0123456789abcdef-operator\n")
        let readerFile = try dir.write("reader", "  0123456789abcdef-reader\r\n")
        let admin = try ConfigLoader.parse(withAdmin("  operatorTokenFile: \(operatorFile)\n  readerTokenFile: \(readerFile)\n")).admin
        #expect(admin.operatorToken == AdminToken(file: operatorFile, bytes: Array("0123456789abcdef-operator".utf8)))
        #expect(admin.readerToken == AdminToken(file: readerFile, bytes: Array("0123456789abcdef-reader".utf8)))
        #expect(admin.address == HostPort(host: "127.0.0.1", port: 9901))
        // The secret never shows in what a config prints.
        #expect(!"\(admin)".contains("0123456789abcdef"))
        #expect(try ConfigLoader.parse(minimalConfig).admin.operatorToken == nil)
    }

    @Test func unusableTokenFilesAreRefusedWithFieldAndLine() throws {
        let dir = try TokenDir()
        let empty = try dir.write("empty", "\n")
        let short = try dir.write("short", "secret\n")
        let twoLines = try dir.write("two", "0123456789abcdef\n0123456789abcdef\n")
        let missing = "\(dir.path)/missing"
        #expect(
            problems(withAdmin("  operatorTokenFile: \(empty)\n  readerTokenFile: \(missing)\n")) == [
                "admin.operatorTokenFile: \(empty) is empty (line 10)",
                "admin.readerTokenFile: cannot read \(missing): No such file or directory (line 11)",
            ])
        #expect(
            problems(withAdmin("  operatorTokenFile: \(short)\n")) == [
                "admin.operatorTokenFile: the token in \(short) has 6 characters; use at least 16 (line 10)"
            ])
        #expect(
            problems(withAdmin("  readerTokenFile: \(twoLines)\n")) == [
                "admin.readerTokenFile: \(twoLines) must hold one token of visible ASCII characters (no spaces, no second line) (line 10)"
            ])
        #expect(problems(withAdmin("  operatorTokenFile: \"\"\n")) == ["admin.operatorTokenFile: must not be empty (line 10)"])
        #expect(
            problems(withAdmin("  operatorTokenFile: \(dir.path)\n")).first?.hasPrefix("admin.operatorTokenFile: cannot read \(dir.path): ")
                == true)
    }

    @Test func theReaderTokenMustDifferFromTheOperators() throws {
        let dir = try TokenDir()
        let one = try dir.write("one", "0123456789abcdef\n")
        let same = try dir.write("same", "0123456789abcdef")
        #expect(
            problems(withAdmin("  operatorTokenFile: \(one)\n  readerTokenFile: \(same)\n")) == [
                "admin.readerTokenFile: holds the operator's token; a reader token must differ, or readers could change the proxy (line 11)"
            ])
    }

    @Test func anAddressBeyondLoopbackNeedsAnOperatorToken() throws {
        for address in ["0.0.0.0:9901", "[::]:9901", "10.0.0.7:9901", "admin.internal:9901"] {
            #expect(
                problems(withAdmin("  address: \"\(address)\"\n")) == [
                    "admin.address: \(address) is reachable from other hosts; set admin.operatorTokenFile, or listen on loopback (line 10)"
                ])
        }
        for address in ["127.0.0.1:9901", "127.8.9.10:9901", "[::1]:9901", "localhost:9901", "LOCALHOST:9901"] {
            #expect(problems(withAdmin("  address: \"\(address)\"\n")) == [], "\(address)")
        }
        let dir = try TokenDir()
        let token = try dir.write("operator", "0123456789abcdef\n")
        #expect(
            try ConfigLoader.parse(withAdmin("  address: 0.0.0.0:9901\n  operatorTokenFile: \(token)\n")).admin.address
                == HostPort(host: "0.0.0.0", port: 9901))
    }

    @Test func tokensCompareWholeAndExact() {
        let token = AdminToken(file: "t", bytes: Array("0123456789abcdef".utf8))
        #expect(token.matches(Array("0123456789abcdef".utf8)[...]))
        #expect(!token.matches(Array("0123456789abcdeF".utf8)[...]))
        #expect(!token.matches(Array("0123456789abcde".utf8)[...]))
        #expect(!token.matches(Array("0123456789abcdef0".utf8)[...]))
        #expect(!token.matches([][...]))
        // A slice that does not start at index 0 (how the server hands over the header's token).
        #expect(token.matches(Array("Bearer 0123456789abcdef".utf8)[7...]))
    }
}
