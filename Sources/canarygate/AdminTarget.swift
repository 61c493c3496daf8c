// How a command finds a running proxy's admin API and its token: from its config file, or an address and a token file.
import ArgumentParser
import Config

struct AdminTarget: ParsableArguments {
    @Option(name: .long, help: "The running proxy's config file (its admin.address and admin.operatorTokenFile are used).")
    var config: String?
    @Option(name: .long, help: "Admin address of the running proxy, if --config is not given.")
    var admin: String = "127.0.0.1:9901"
    @Option(name: .long, help: "File holding the admin API token (overrides the config's admin.operatorTokenFile).")
    var tokenFile: String?

    /// The address to call and the bearer token to send, if any.
    func resolve() throws -> (address: String, token: String?) {
        var address = admin
        var token: AdminToken?
        if let config {
            do {
                let admin = try ConfigLoader.load(path: config).admin
                address = admin.address.description
                token = admin.operatorToken
            } catch {
                writeStderr("\(config): invalid configuration\n\(error.description)\n")
                throw ExitCode(2)
            }
        }
        if let tokenFile {
            do { token = try AdminToken.read(file: tokenFile) } catch {
                writeStderr("--token-file: \(error.description)\n")
                throw ExitCode(2)
            }
        }
        return (address, token.map { String(decoding: $0.bytes, as: UTF8.self) })
    }
}
