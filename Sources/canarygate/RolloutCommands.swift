// `canarygate status` and the manual rollout verbs (promote, abort, pause, resume, retry, undo), through the admin API.
import ArgumentParser
import Config

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show routes, weights, rollout phases and the last verdicts (the admin API's /status).")
    @OptionGroup var target: AdminTarget
    @Flag(help: "Follow the rollouts live: a full-screen view on a terminal, a line per change otherwise.")
    var watch = false
    @Option(help: "With --watch: how often to poll, like \"1s\" or \"500ms\".")
    var interval = "1s"

    func run() throws {
        guard watch else { return try callAdmin("GET", target: target, path: "/status") }
        let every: Duration
        do { every = try DurationArgument.parse(interval) } catch {
            writeStderr("--interval: \(error.description)\n")
            throw ExitCode(2)
        }
        let (seconds, attoseconds) = every.components
        try StatusWatch(target: target, interval: max(0.1, Double(seconds) + Double(attoseconds) / 1e18)).run()
    }
}

/// What every route verb is given: the running proxy to call, then the route.
struct RouteArguments: ParsableArguments {
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String
}

/// A verb on one route's rollout: `POST /routes/ROUTE/VERB`.
protocol RouteVerbCommand: ParsableCommand {
    var on: RouteArguments { get }
    /// The verb's path segment, plus any query.
    var verbPath: String { get }
}

extension RouteVerbCommand {
    func run() throws { try callAdmin("POST", target: on.target, path: "/routes/\(on.route)/\(verbPath)") }
}

struct Promote: RouteVerbCommand {
    static let configuration = CommandConfiguration(
        abstract: "Skip the remaining steps and promote (still through confirm-promotion gates unless --force).")
    @OptionGroup var on: RouteArguments
    @Flag(help: "Skip the confirm-promotion gates too.") var force = false
    var verbPath: String { force ? "promote?force=true" : "promote" }
}

struct Abort: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Roll the canary back now.")
    @OptionGroup var on: RouteArguments
    var verbPath: String { "abort" }
}

struct Pause: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Freeze the rollout at its current weight.")
    @OptionGroup var on: RouteArguments
    var verbPath: String { "pause" }
}

struct Resume: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused rollout.")
    @OptionGroup var on: RouteArguments
    var verbPath: String { "resume" }
}

struct Retry: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Run a failed revision's rollout again.")
    @OptionGroup var on: RouteArguments
    var verbPath: String { "retry" }
}

struct Undo: RouteVerbCommand {
    static let configuration = CommandConfiguration(
        abstract: "Within rollbackWindow after a promotion: switch back to the previous primary at once, without analysis.")
    @OptionGroup var on: RouteArguments
    var verbPath: String { "undo" }
}
