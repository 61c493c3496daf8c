// Reads the keys of one YAML mapping; whatever the decoder did not ask for is an unknown key.
import Yams

/// A section's decoder reads each key it knows with `required` or `optional`; then
/// `ConfigNode.mapping` reports every key left unread, so a typo like `primray` is an error
/// instead of a silently ignored setting. Decoders must read all their keys before giving up
/// on a value (read first, `guard` after), or valid keys would be reported as unknown.
struct MappingReader {
    /// The mapping itself: its path prefixes its keys', its line locates missing keys.
    let mapping: ConfigNode
    private let entries: [(name: String, key: Node, value: Node)]
    private var read: Set<String> = []

    /// Reports and fails when `node` is not a mapping, or has keys that are not plain scalars.
    init?(_ node: ConfigNode) {
        guard case let .mapping(pairs) = node.node else {
            node.report("expected a mapping")
            return nil
        }
        var entries: [(name: String, key: Node, value: Node)] = []
        for (key, value) in pairs {
            guard case let .scalar(scalar) = key else {
                node.log.report(path: node.path, line: key.mark?.line, "keys must be strings")
                continue
            }
            entries.append((scalar.string, key, value))
        }
        self.mapping = node
        self.entries = entries
    }

    /// The decoded value of `key`; reports `required` when it is absent or empty.
    mutating func required<T>(_ key: String, _ decode: (ConfigNode) -> T?) -> T? {
        let entry = take(key)
        guard let entry, !entry.value.isNull else {
            mapping.log.report(path: pathOf(key), line: entry?.keyLine ?? mapping.line, "required")
            return nil
        }
        return decode(entry.value)
    }

    /// The decoded value of `key`, or `nil` when it is absent or empty.
    mutating func optional<T>(_ key: String, _ decode: (ConfigNode) -> T?) -> T? {
        guard let entry = take(key), !entry.value.isNull else { return nil }
        return decode(entry.value)
    }

    /// `fallback` when `key` is absent or empty, else its decoded value (`nil` only if invalid).
    mutating func optional<T>(_ key: String, default fallback: T, _ decode: (ConfigNode) -> T?) -> T? {
        guard let entry = take(key), !entry.value.isNull else { return fallback }
        return decode(entry.value)
    }

    /// Where to report about `key` whether or not it is written: its value's line, else the mapping's.
    func lineOf(_ key: String) -> Int? {
        entries.first { $0.name == key }?.value.mark?.line ?? mapping.line
    }

    func pathOf(_ key: String) -> String { mapping.childPath(key) }

    /// Whether `key` is written with a value (an empty one counts as absent, as everywhere).
    func isWritten(_ key: String) -> Bool {
        entries.contains { $0.name == key && !mapping.child(key, $0.value).isNull }
    }

    /// A problem with `key` as a whole (it conflicts with another key, say), at the key's line.
    func report(_ key: String, _ message: String) {
        let line = entries.first { $0.name == key }?.key.mark?.line ?? mapping.line
        mapping.log.report(path: pathOf(key), line: line, message)
    }

    func reportUnreadKeys() {
        for entry in entries where !read.contains(entry.name) {
            mapping.log.report(path: pathOf(entry.name), line: entry.key.mark?.line, "unknown key")
        }
    }

    private mutating func take(_ key: String) -> (value: ConfigNode, keyLine: Int?)? {
        read.insert(key)
        guard let entry = entries.first(where: { $0.name == key }) else { return nil }
        return (mapping.child(key, entry.value), entry.key.mark?.line)
    }
}
