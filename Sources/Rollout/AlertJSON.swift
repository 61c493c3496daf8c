// A small JSON value that renders as compact, pure-ASCII text with its keys in the order written.

/// Why not JSONEncoder: the payloads are tested as exact bytes, so key order must be the order the formats
/// document (JSONEncoder sorts or does not promise one), and every character outside printable ASCII is
/// written as a `\u` escape (UTF-16, surrogate pairs beyond the BMP). Receivers that mishandle raw UTF-8 or
/// U+2028/U+2029 (JavaScript's line separators) then still read the text as sent.
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
        case .string(let s): Self.writeString(s, into: &out)
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
                Self.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    /// RFC 8259's escapes for `"` `\` and the short control characters; `\uXXXX` for the other controls,
    /// DEL and everything beyond ASCII.
    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        out += "\""
    }
}
