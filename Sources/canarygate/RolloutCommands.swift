// `canarygate status` and the manual rollout verbs (promote, abort, pause, resume, retry), through the admin API.
import ArgumentParser

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show routes, weights, rollout phases and the last verdicts (the admin API's /status).")
    @OptionGroup var target: AdminTarget

    func run() throws { try callAdmin("GET", target: target, path: "/status") }
}

/// A verb on one route's rollout: `POST /routes/ROUTE/VERB`.
protocol RouteVerbCommand: ParsableCommand {
    var target: AdminTarget { get }
    var route: String { get }
    /// The verb's path segment, plus any query.
    var verbPath: String { get }
}

extension RouteVerbCommand {
    func run() throws { try callAdmin("POST", target: target, path: "/routes/\(route)/\(verbPath)") }
}

struct Promote: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Skip the remaining steps and promote (still through confirm-promotion gates unless --force).")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String
    @Flag(help: "Skip the confirm-promotion gates too.") var force = false
    var verbPath: String { force ? "promote?force=true" : "promote" }
}

struct Abort: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Roll the canary back now.")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String
    var verbPath: String { "abort" }
}

struct Pause: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Freeze the rollout at its current weight.")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String
    var verbPath: String { "pause" }
}

struct Resume: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused rollout.")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String
    var verbPath: String { "resume" }
}

struct Retry: RouteVerbCommand {
    static let configuration = CommandConfiguration(abstract: "Run a failed revision's rollout again.")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String
    var verbPath: String { "retry" }
}
