// What a rejected config reports: every problem found, each naming its place in the file.

/// One thing wrong with a config, located by its path (`routes[0].canary.weight`) and line.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is, as the YAML keys and list indexes leading to it; empty for the whole file.
    public var path: String
    /// 1-based line in the YAML text, when the problem has one.
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path; self.line = line; self.message = message
    }

    /// `routes[0].canary.weight: 150 is not in 0...100 (line 17)`.
    public var description: String {
        let located = path.isEmpty ? message : "\(path): \(message)"
        return line.map { "\(located) (line \($0))" } ?? located
    }
}

/// A config that cannot be used. It lists all its problems so that one edit can fix them all.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) { self.problems = problems }

    /// One problem per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
