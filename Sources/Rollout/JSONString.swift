// A JSON string literal: the one escaper behind the notifications' payloads and the admin API's documents.

/// RFC 8259's short escapes for `"`, `\`, newline, carriage return, tab, backspace and form feed; `\u00XX` for the
/// other control characters and DEL. The admin API's documents keep other characters as they are (UTF-8, what a
/// person reading `curl` output wants); notifications ask for `asciiOnly`, which writes everything beyond ASCII
/// as `\u` escapes (UTF-16, surrogate pairs beyond the BMP) for receivers that mishandle raw UTF-8 or
/// U+2028/U+2029 (JavaScript's line separators).
package enum JSONString {
    package static func quoted(_ s: String, asciiOnly: Bool = false) -> String {
        var out = ""
        write(s, asciiOnly: asciiOnly, into: &out)
        return out
    }

    package static func write(_ s: String, asciiOnly: Bool, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x00..<0x20, 0x7F: writeEscape(UInt16(scalar.value), into: &out)
            case 0x20..<0x80: out.unicodeScalars.append(scalar)
            default:
                if asciiOnly { UTF16.encode(scalar) { writeEscape($0, into: &out) } } else { out.unicodeScalars.append(scalar) }
            }
        }
        out += "\""
    }

    private static func writeEscape(_ unit: UInt16, into out: inout String) {
        let hex = String(unit, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
