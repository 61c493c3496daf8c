// `canarygate demo`: built-in primary and canary backends, the proxy in front, and a load that shows the split.
import ArgumentParser
import Canarygate

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start two built-in backends and the proxy, send traffic, and show how it was split.")

    @Option(help: "Canary weight in percent.")
    var weight: Int = 20
    @Option(help: "Requests to send.")
    var requests: Int = 1000

    func run() throws {
        guard (0...100).contains(weight) else { throw ValidationError("--weight must be in 0...100") }
        guard (1...1_000_000).contains(requests) else { throw ValidationError("--requests must be in 1...1000000") }
        let logger = makeLogger(level: "warning")
        let report = try DemoRun.run(weight: weight, requests: requests, logger: logger)
        print(report)
    }
}
