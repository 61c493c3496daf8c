// `canarygate demo`: built-in backends, the proxy and a load; the canary rollout shown live until it ends.
import ArgumentParser
import Canarygate
import Glibc

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch a whole canary rollout: built-in primary and canary backends, a steady load, live phase and verdicts.")

    @Flag(help: "Make the canary fail 30% of its requests: the rollout rolls back.")
    var faulty = false
    @Option(help: "Requests per second of the demo load.")
    var rate: Int = 200
    @Option(help: "Stop after this many seconds whatever the phase.")
    var timeLimit: Int = 120

    func run() throws {
        guard (10...5000).contains(rate) else { throw ValidationError("--rate must be in 10...5000") }
        let logger = makeLogger(level: "warning")
        let phase = try DemoRun.run(.init(faulty: faulty, requestsPerSecond: rate, timeLimitSeconds: timeLimit), logger: logger) { line in
            // Straight to fd 1 so each line shows at once, even through a pipe.
            var bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
        }
        // Succeeded for a healthy canary, Failed (rolled back) for a faulty one: both are the demo working.
        let expected = faulty ? "Failed" : "Succeeded"
        if phase != expected { throw ExitCode(1) }
    }
}
