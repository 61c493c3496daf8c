// `canarygate reload`: asks a running proxy, through its admin API, to re-read its config (same as `kill -HUP`).
import ArgumentParser
import Canarygate

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ask a running proxy to reload its config file (like kill -HUP PID).")

    @OptionGroup var target: AdminTarget

    func run() throws {
        try callAdmin("POST", target: target, path: "/reload")
    }
}

/// Calls the admin API, prints the answer, and fails the command unless it was a 200.
func callAdmin(_ method: String, target: AdminTarget, path: String) throws {
    let (address, token) = try target.resolve()
    let (status, body) = try AdminClient.request(method, address: address, path: path, token: token)
    if status == 200 {
        print(body, terminator: "")
    } else {
        writeStderr(body)
        throw ExitCode(1)
    }
}
