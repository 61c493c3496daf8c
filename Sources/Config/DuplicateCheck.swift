// Finds values that must be unique (names, addresses, matches) and names the first occurrence.

/// Remembers where each value was first seen, so that a repeat is reported as
/// `routes[1].name: "web" duplicates routes[0].name` at the repeat's line.
struct DuplicateCheck<Key: Hashable> {
    private var firstPath: [Key: String] = [:]

    /// `key` if it is new; otherwise reports the duplicate (showing `shown`, if given) and returns `nil`.
    mutating func claim(_ key: Key, shown: String?, path: String, line: Int?, log: ProblemLog) -> Key? {
        if let first = firstPath[key] {
            log.report(path: path, line: line, [shown, "duplicates \(first)"].compactMap { $0 }.joined(separator: " "))
            return nil
        }
        firstPath[key] = path
        return key
    }

    mutating func claim(_ key: Key, shown: String?, at node: ConfigNode) -> Key? {
        claim(key, shown: shown, path: node.path, line: node.line, log: node.log)
    }
}
