// `canarygate status` and the manual rollout verbs (promote, abort, pause, resume, retry), through the admin API.
import ArgumentParser

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show routes, weights, rollout phases and the last verdicts (the admin API's /status).")
    @OptionGroup var target: AdminTarget

    func run() throws { try callAdmin("GET", address: try target.address(), path: "/status") }
}

struct Promote: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Skip the remaining steps and promote (still through confirm-promotion gates unless --force).")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String
    @Flag(help: "Skip the confirm-promotion gates too.") var force = false

    func run() throws { try callAdmin("POST", address: try target.address(), path: "/routes/\(route)/promote\(force ? "?force=true" : "")") }
}

struct Abort: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Roll the canary back now.")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String

    func run() throws { try callAdmin("POST", address: try target.address(), path: "/routes/\(route)/abort") }
}

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Freeze the rollout at its current weight.")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String

    func run() throws { try callAdmin("POST", address: try target.address(), path: "/routes/\(route)/pause") }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused rollout.")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String

    func run() throws { try callAdmin("POST", address: try target.address(), path: "/routes/\(route)/resume") }
}

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a failed revision's rollout again.")
    @OptionGroup var target: AdminTarget
    @Argument(help: "The route.") var route: String

    func run() throws { try callAdmin("POST", address: try target.address(), path: "/routes/\(route)/retry") }
}
