// How a command finds a running proxy's admin API: from its config file, or an explicit address.
import ArgumentParser
import Config

struct AdminTarget: ParsableArguments {
    @Option(name: .long, help: "The running proxy's config file (its admin.address is used).")
    var config: String?
    @Option(name: .long, help: "Admin address of the running proxy, if --config is not given.")
    var admin: String = "127.0.0.1:9901"

    func address() throws -> String {
        guard let config else { return admin }
        do { return try ConfigLoader.load(path: config).admin.address.description } catch {
            writeStderr("\(config): invalid configuration\n\(error.description)\n")
            throw ExitCode(2)
        }
    }
}
