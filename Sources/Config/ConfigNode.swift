// A YAML node being decoded, with the path that names it in messages and the log it reports to.
import Yams

/// Why a scalar's text was rejected; the message is reported at the scalar's path and line.
struct InvalidValue: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Decoders take a `ConfigNode` and return a value, or `nil` after reporting why not.
/// A partial result is never returned to the caller of `ConfigLoader`: the log decides.
struct ConfigNode {
    let node: Node
    /// `routes[0].canary.weight`; empty for the document itself.
    let path: String
    let log: ProblemLog

    var line: Int? { node.mark?.line }

    /// `key:` with nothing after it (or `~`, `null`): treated as absent, as YAML users expect.
    var isNull: Bool { node.tag.rawValue == Tag.Name.null.rawValue }

    func report(_ message: String) { log.report(path: path, line: line, message) }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func child(_ key: String, _ node: Node) -> ConfigNode { ConfigNode(node: node, path: childPath(key), log: log) }

    /// The text of a scalar, checked by `parse`. Anything else is reported as not the `expected` kind.
    func scalar<T>(expected: String, _ parse: (String) throws(InvalidValue) -> T) -> T? {
        guard case let .scalar(scalar) = node, !isNull else {
            report("expected \(expected)")
            return nil
        }
        do {
            return try parse(scalar.string)
        } catch {
            report(error.message)
            return nil
        }
    }

    func nonEmptyString() -> String? {
        scalar(expected: "a string") { text throws(InvalidValue) in
            guard !text.isEmpty else { throw InvalidValue("must not be empty") }
            return text
        }
    }

    func integer(in range: ClosedRange<Int>) -> Int? {
        scalar(expected: "an integer in \(range)") { text throws(InvalidValue) in
            guard let value = Int(text) else {
                throw InvalidValue("expected an integer in \(range), found \(text.debugDescription)")
            }
            guard range.contains(value) else { throw InvalidValue("\(value) is not in \(range)") }
            return value
        }
    }

    func duration() -> Duration? {
        scalar(expected: "a duration like \"2s\" or \"500ms\"", DurationSyntax.parse)
    }

    func hostPort() -> HostPort? {
        scalar(expected: "a string like \"127.0.0.1:8080\"", AddressSyntax.parseHostPort)
    }

    /// Decodes each element; elements that fail are left out (their problems are in the log).
    func list<T>(atLeastOne: Bool, _ decode: (ConfigNode) -> T?) -> [T]? {
        guard case let .sequence(sequence) = node else {
            report("expected a list")
            return nil
        }
        if atLeastOne && sequence.isEmpty { report("needs at least one entry") }
        return sequence.enumerated().compactMap { index, element in
            decode(ConfigNode(node: element, path: "\(path)[\(index)]", log: log))
        }
    }

    /// Reads a mapping through a `MappingReader`; keys `decode` did not read are reported as unknown.
    /// A mapping with any problem inside yields `nil`, so that a half-read value (say, a match whose
    /// host was invalid) cannot cause further, misleading problems such as a duplicate match.
    func mapping<T>(_ decode: (inout MappingReader) -> T?) -> T? {
        let problemsBefore = log.count
        guard var reader = MappingReader(self) else { return nil }
        let value = decode(&reader)
        reader.reportUnreadKeys()
        return log.count == problemsBefore ? value : nil
    }
}
