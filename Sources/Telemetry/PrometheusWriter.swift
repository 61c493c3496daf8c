// Appends metric families in the Prometheus text exposition format 0.0.4.

/// Builds a `/metrics` body. The caller writes each family's `family` line pair once, then all its
/// samples, before the next family (promtool rejects a family split in two).
public struct PrometheusWriter: Sendable {
    /// The `Content-Type` of the text this writer produces.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public enum MetricType: String, Sendable {
        case counter, gauge, histogram, summary, untyped
    }

    /// The text so far.
    public private(set) var text = ""

    public init() {}

    /// Starts a family: `# HELP` and `# TYPE`.
    public mutating func family(_ name: String, type: MetricType, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    /// One sample with an integer value.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: UInt64) {
        appendSample(name, labels, String(value))
    }

    /// One sample with a signed integer value (gauges).
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Int64) {
        appendSample(name, labels, String(value))
    }

    /// One sample with a floating-point value.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        appendSample(name, labels, Self.formatFloat(value))
    }

    /// One sample in seconds from a count of nanoseconds, printed exactly (no binary rounding).
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], nanosecondsAsSeconds nanoseconds: UInt64) {
        appendSample(name, labels, Self.formatSeconds(nanoseconds: nanoseconds))
    }

    private mutating func appendSample(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (i, (label, labelValue)) in labels.enumerated() {
                if i > 0 { text += "," }
                text += label
                text += "=\""
                text += Self.escapeLabelValue(labelValue)
                text += "\""
            }
            text += "}"
        }
        text += " "
        text += value
        text += "\n"
    }

    /// Label values escape backslash, double quote and line feed.
    public static func escapeLabelValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") })
        else { return value }
        var escaped = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// HELP text escapes backslash and line feed only (a double quote is literal there).
    public static func escapeHelp(_ help: String) -> String {
        var escaped = ""
        for character in help.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Integers as integers ("1", not "1.0"), `+Inf`/`-Inf`/`NaN` as Prometheus spells them, anything
    /// else in Swift's shortest round-trip form ("0.0025", "1e-07"), which Go's ParseFloat accepts.
    public static func formatFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        // Below 2^53 every integral Double is exactly an Int64.
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
        return value.description
    }

    /// `nanoseconds / 10^9` in decimal, trailing zeros of the fraction dropped ("1.5", "0.000001", "3").
    public static func formatSeconds(nanoseconds: UInt64) -> String {
        let whole = nanoseconds / 1_000_000_000
        var fraction = nanoseconds % 1_000_000_000
        guard fraction != 0 else { return String(whole) }
        var digits = 9
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let fractionText = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }
}
