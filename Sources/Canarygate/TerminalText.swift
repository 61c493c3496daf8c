// Lines for a terminal: styled spans cut to a width (never wrapped), sparklines, bars, and text made safe to print.
import Foundation
import Glibc

/// The SGR attributes the watch view uses.
enum TerminalStyle: String, Sendable {
    case bold = "1"
    case dim = "2"
    case red = "31"
    case green = "32"
    case yellow = "33"
    case cyan = "36"
}

/// One line of styled spans, cut by terminal columns: the view's own text is ASCII and single-width block and box
/// characters, but event lines quote hook output, which may hold double-width characters (CJK, emoji).
struct TerminalLine: Sendable, Equatable {
    private struct Span: Sendable, Equatable {
        var text: String
        var style: TerminalStyle?
    }

    private var spans: [Span] = []

    init(_ text: String = "", _ style: TerminalStyle? = nil) {
        if !text.isEmpty { add(text, style) }
    }

    mutating func add(_ text: String, _ style: TerminalStyle? = nil) {
        spans.append(Span(text: Self.safe(text), style: style))
    }

    var plain: String { spans.map(\.text).joined() }

    /// The line cut to `width` columns, with its SGR escapes when `color` (each styled span reset after it).
    func rendered(width: Int, color: Bool) -> String {
        var left = max(0, width)
        var out = ""
        for span in spans where left > 0 {
            var text = ""
            for character in span.text {
                let columns = Self.columns(character)
                guard columns <= left else {
                    left = 0
                    break
                }
                text.append(character)
                left -= columns
            }
            if color, let style = span.style {
                out += "\u{1B}[\(style.rawValue)m" + text + "\u{1B}[0m"
            } else {
                out += text
            }
        }
        return out
    }

    /// The columns a character takes: 2 for the East Asian wide and fullwidth ranges and emoji, else 1 (combining
    /// marks belong to their character).
    static func columns(_ character: Character) -> Int {
        guard let first = character.unicodeScalars.first, first.value >= 0x1100 else { return 1 }
        switch first.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xAC00...0xD7A3,
            0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }

    /// Control characters (C0, DEL, C1) become spaces: an event line may quote a hook's output, and an escape in
    /// it must not reach the terminal.
    static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0) ? " " : $0 }))
    }

    private static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (0x7F...0x9F).contains(s.value) }
}

enum TerminalGraphics {
    private static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// The last `width` values as a sparkline scaled from 0 to `top` (default: their maximum); a nil value (no
    /// data) is a space.
    static func sparkline(_ values: [Double?], width: Int, top: Double? = nil) -> String {
        let shown = values.suffix(max(0, width))
        let top = top ?? shown.compactMap { $0 }.max() ?? 0
        return String(
            shown.map { value -> Character in
                guard let value else { return " " }
                guard top > 0 else { return levels[0] }
                return levels[min(levels.count - 1, max(0, Int((min(value, top) / top * Double(levels.count - 1)).rounded())))]
            })
    }

    /// A percentage as a bar of `width` cells.
    static func bar(percent: Int, width: Int) -> String {
        let filled = min(width, max(0, Int((Double(percent) * Double(width) / 100).rounded())))
        return String(repeating: "█", count: filled) + String(repeating: "░", count: max(0, width - filled))
    }

    /// "HH:MM:SS" in UTC.
    static func clock(_ unixTime: Double) -> String {
        var seconds = time_t(unixTime.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

    /// A latency in milliseconds, three significant digits: "0.42ms", "12.3ms", "1.25s"; "-" for none.
    static func latency(_ milliseconds: Double?) -> String {
        guard let ms = milliseconds else { return "-" }
        return ms >= 1000 ? String(format: "%.3gs", ms / 1000) : String(format: "%.3gms", ms)
    }

    /// An e-value or α: three significant digits.
    static func figure(_ x: Double) -> String { String(format: "%.3g", x) }
}
