// The admin tokens the page and browser tests log in with, and the reload that puts them in force.
import Foundation
import Testing

enum AdminTestTokens {
    static let operatorToken = "operator-0123456789abcdef"
    static let readerToken = "reader-0123456789abcdef"

    /// Writes the token files into `dir`, names them under `admin:` in `configFile` and reloads with `reload`
    /// (a POST /reload without a token: the config in force has none yet).
    static func install(dir: TempDir, configFile: URL, adminPort: UInt16, reload: () throws -> ClientResponse) throws {
        let operatorFile = try dir.write("operator.token", operatorToken + "\n")
        let readerFile = try dir.write("reader.token", readerToken + "\n")
        let anchor = "  address: 127.0.0.1:\(adminPort)\n"
        let yaml = try String(contentsOf: configFile, encoding: .utf8)
        try #require(yaml.contains(anchor))
        try yaml.replacingOccurrences(
            of: anchor, with: anchor + "  operatorTokenFile: \(operatorFile.path)\n  readerTokenFile: \(readerFile.path)\n"
        ).write(to: configFile, atomically: true, encoding: .utf8)
        let answer = try reload()
        try #require(answer.status == 200, "reload into the token config: \(answer.status) \(answer.text)")
    }
}
