// Parses durations written as integers with units: "500ms", "2s", "1m", "1h30m".

/// Whole numbers only, each followed by a unit, largest units first is customary but not
/// required ("1h30m" = "90m"). Fractions are refused rather than rounded: "1.5s" is "1500ms".
enum DurationSyntax {
    private static let nanosecondsPerUnit: [(unit: String, nanoseconds: Int64)] = [
        ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]
    private static let example = "like \"2s\" or \"500ms\""
    private static let units = "us, ms, s, m or h"

    static func parse(_ text: String) throws(InvalidValue) -> Duration {
        let shown = text.debugDescription
        if text.hasPrefix("-") { throw InvalidValue("\(shown) must be greater than 0") }
        var rest = Substring(text)
        var total: Int64 = 0
        // Each unit swallows every non-digit after it, so only the first number can lack digits.
        guard rest.first?.isASCIIDigit == true else {
            throw InvalidValue("\(shown) is not a duration \(example)")
        }
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCIIDigit)
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix(while: { !$0.isASCIIDigit })
            rest = rest.dropFirst(unit.count)
            if unit.first == "." {
                throw InvalidValue("\(shown): fractions are not supported; use a smaller unit, like \"1500ms\" for \"1.5s\"")
            }
            guard !unit.isEmpty else { throw InvalidValue("\(shown) has no unit; use \(units), like \"\(digits)s\"") }
            guard let scale = nanosecondsPerUnit.first(where: { $0.unit == unit })?.nanoseconds else {
                throw InvalidValue("\(shown) has an unknown unit \(String(unit).debugDescription); use \(units)")
            }
            guard let count = Int64(digits) else { throw InvalidValue("\(shown) is too large") }
            let (scaled, overflowScaling) = count.multipliedReportingOverflow(by: scale)
            let (sum, overflowAdding) = total.addingReportingOverflow(scaled)
            guard !overflowScaling, !overflowAdding else { throw InvalidValue("\(shown) is too large") }
            total = sum
        }
        guard total > 0 else { throw InvalidValue("\(shown) must be greater than 0") }
        return .nanoseconds(total)
    }
}

extension Character {
    /// `isNumber` would also accept "½" and "٣"; durations and ports are ASCII.
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
