// Number formatting for verdict summaries, without Foundation: fixed decimals, short measured values, trimmed bounds.

/// Fixed-point text for the one-line summaries of verdicts (the evidence keeps the exact values).
public enum Format {
    /// `value` with `decimals` digits after the point, e.g. `fixed(97.123, 1)` = "97.1". Non-finite
    /// values and magnitudes beyond 1e15 use Swift's own description.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
        var scale: Double = 1
        for _ in 0..<max(decimals, 0) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let negative = value < 0 && scaled != 0
        let whole = UInt64(scaled / scale)
        let fraction = UInt64(scaled - Double(whole) * scale)
        var text = negative ? "-" : ""
        text += String(whole)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: max(0, decimals - digits.count)) + digits
        }
        return text
    }

    /// The shortest of `fixed(value, 0...3)` that keeps three significant digits for small values:
    /// "0.0123", "1.23", "97.1", "412".
    static func short(_ value: Double) -> String {
        let magnitude = abs(value)
        if !magnitude.isFinite || magnitude >= 100 { return fixed(value, 0) }
        if magnitude >= 10 { return fixed(value, 1) }
        if magnitude >= 1 { return fixed(value, 2) }
        if magnitude >= 0.1 { return fixed(value, 3) }
        return fixed(value, 4)
    }

    /// A probability or a level, readable however small: 0.0076 as "0.0076", 9.1e-5 as "9.1e-5", 0 as "0".
    /// (`short` shows every p-value and spent α below 0.00005 as "0.0000", and a comparison of two such
    /// numbers then reads as false.)
    static func probability(_ value: Double) -> String {
        guard value > 0, value < 0.001, value.isFinite else { return short(value) }
        var exponent = 0, mantissa = value
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        return "\(fixed(mantissa, 1))e\(exponent)"
    }

    /// A configured figure without trailing zeros: 99 → "99", 99.5 → "99.5", 0.25 → "0.25" (up to 4 decimals).
    static func trimmed(_ value: Double) -> String {
        var text = fixed(value, 4)
        guard text.contains(".") else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
