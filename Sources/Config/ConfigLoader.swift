// The Config module's entry point: YAML text or file in, a validated `CanarygateConfig` out.
import Yams
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ConfigLoader {
    /// Reads and parses the config file at `path`; an unreadable file is one problem without a line.
    public static func load(path: String) throws(ConfigError) -> CanarygateConfig {
        try parse(readFile(path))
    }

    /// Parses and validates a config. Throws every problem found, in file order.
    public static func parse(_ yaml: String) throws(ConfigError) -> CanarygateConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(problems: [syntaxProblem(error, in: yaml)])
        }
        guard let root else {
            throw ConfigError(problems: [ConfigProblem(path: "", line: nil, message: "the config is empty")])
        }
        let log = ProblemLog()
        let config = CanarygateConfig.decode(ConfigNode(node: root, path: "", log: log))
        guard let config, log.count == 0 else { throw ConfigError(problems: log.inFileOrder) }
        return config
    }

    /// The whole file as UTF-8 text; POSIX I/O so that the message carries the system's reason.
    private static func readFile(_ path: String) throws(ConfigError) -> String {
        func unreadable(_ reason: String) -> ConfigError {
            ConfigError(problems: [ConfigProblem(path: "", line: nil, message: "cannot read \(path): \(reason)")])
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw unreadable(String(cString: strerror(errno)))
            }
            bytes.append(contentsOf: chunk[..<count])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw unreadable("not UTF-8 text") }
        return text
    }

    /// Yams' syntax errors as one problem at the line it reports.
    private static func syntaxProblem(_ error: any Error, in yaml: String) -> ConfigProblem {
        func problem(_ message: String, line: Int?) -> ConfigProblem {
            ConfigProblem(path: "", line: line, message: "invalid YAML: \(message)")
        }
        guard let error = error as? YamlError else { return problem("\(error)", line: nil) }
        switch error {
        case let .scanner(context, message, mark, _),
            let .parser(context, message, mark, _),
            let .composer(context, message, mark, _):
            // libyaml's context reads before its problem: "while parsing a block collection on
            // line 2, did not find expected '-' indicator".
            let during = context.map { "\($0.text) on line \($0.mark.line), " } ?? ""
            return problem(during + message, line: mark.line)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map(\.debugDescription).joined(separator: ", ")
            return problem("duplicated key \(keys) in one mapping", line: context.mark.line)
        case let .reader(message, offset, _, _):
            // The offset counts characters from the start; the line is one more than the newlines before it.
            let line = offset.map { offset in yaml.prefix(offset).filter(\.isNewline).count + 1 }
            return problem(message, line: line)
        default:
            return problem("\(error)", line: nil)
        }
    }
}
