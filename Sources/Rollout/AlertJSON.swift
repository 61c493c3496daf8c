// A small JSON value that renders as compact, pure-ASCII text with its keys in the order written.

/// Why not JSONEncoder: the payloads are tested as exact bytes, so key order must be the order the formats
/// document (JSONEncoder sorts or does not promise one), and every character outside printable ASCII is
/// written as a `\u` escape (`JSONString`'s `asciiOnly`), so every receiver reads the text as sent.
package indirect enum AlertJSON: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([AlertJSON])
    case object([(String, AlertJSON)])

    package var text: String {
        var out = ""
        write(into: &out)
        return out
    }

    package var bytes: [UInt8] { Array(text.utf8) }

    private func write(into out: inout String) {
        switch self {
        case .string(let s): JSONString.write(s, asciiOnly: true, into: &out)
        case .int(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONString.write(key, asciiOnly: true, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }
}
