// `canarygate reload`: asks a running proxy, through its admin API, to re-read its config (same as `kill -HUP`).
import ArgumentParser
import Canarygate
import Config

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ask a running proxy to reload its config file (like kill -HUP PID).")

    @Option(name: .long, help: "The running proxy's config file (its admin.address is used).")
    var config: String?
    @Option(name: .long, help: "Admin address of the running proxy, if --config is not given.")
    var admin: String = "127.0.0.1:9901"

    func run() throws {
        var address = admin
        if let config {
            do { address = try ConfigLoader.load(path: config).admin.address.description } catch {
                writeStderr("\(config): invalid configuration\n\(error.description)\n")
                throw ExitCode(2)
            }
        }
        let (status, body) = try AdminClient.post(address: address, path: "/reload")
        if status == 200 {
            print(body, terminator: "")
        } else {
            writeStderr(body)
            throw ExitCode(1)
        }
    }
}
