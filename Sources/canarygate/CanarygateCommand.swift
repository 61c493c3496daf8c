// The command-line interface: run, validate, demo.
import ArgumentParser
import Canarygate
import Config
import Glibc
import Logging

@main
struct CanarygateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canarygate",
        abstract: "A reverse proxy that splits traffic between a primary and a canary, and runs the rollout itself.",
        subcommands: [
            Run.self, Validate.self, Reload.self, Status.self, Promote.self, Abort.self, Pause.self, Resume.self, Retry.self, Undo.self,
            Demo.self,
        ]
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path to the YAML configuration file.")
    var config: String
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the proxy. SIGHUP reloads the config; SIGTERM/SIGINT drain and stop.")

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "Event-loop threads (default: the config's `threads`, else one per core).")
    var threads: Int?
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() throws {
        let logger = makeLogger(level: logLevel)
        let config: CanarygateConfig
        do { config = try ConfigLoader.load(path: options.config) } catch {
            writeStderr("\(options.config): invalid configuration\n\(error.description)\n")
            throw ExitCode(2)
        }
        // Signals are blocked before any thread starts so that only the control loop receives them.
        let signals = try SignalControl()
        let server: Server
        do { server = try Server.start(config: config, configPath: options.config, threadCount: threads, logger: logger) } catch {
            writeStderr("canarygate: cannot start: \(error)\n")
            throw ExitCode(1)
        }
        logger.info(
            "canarygate running: \(config.listeners.map { "\($0.name)=\($0.address)" }.joined(separator: " ")), admin=\(config.admin.address)"
        )
        let code = signals.run(server, logger: logger)
        if code != 0 { throw ExitCode(code) }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration file and report every problem with its field and line.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        do {
            let config = try ConfigLoader.load(path: options.config)
            print("\(options.config): ok (\(config.listeners.count) listener(s), \(config.routes.count) route(s))")
        } catch {
            writeStderr("\(options.config): invalid configuration\n\(error.description)\n")
            throw ExitCode(2)
        }
    }
}

func makeLogger(level: String) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logger.Level(rawValue: level) ?? .info
        return handler
    }
    return Logger(label: "canarygate")
}

func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
