// Reads booleans, lower-bounded integers and durations, bounded decimals and string maps from config nodes.
import Yams

/// The bounds of a decimal setting, each inclusive or not: `alpha` is in (0, 0.5], a quantile in (0, 1).
struct NumberBounds {
    var lower: (value: Double, inclusive: Bool)?
    var upper: (value: Double, inclusive: Bool)?

    static let any = NumberBounds()

    static func closed(_ range: ClosedRange<Double>) -> NumberBounds {
        NumberBounds(lower: (range.lowerBound, true), upper: (range.upperBound, true))
    }

    func contains(_ value: Double) -> Bool {
        if let lower, lower.inclusive ? value < lower.value : value <= lower.value { return false }
        if let upper, upper.inclusive ? value > upper.value : value >= upper.value { return false }
        return true
    }

    /// `in 0...100` when both ends are inclusive (as integer ranges read), else words:
    /// `greater than 0 and at most 0.5`, `at least 1`.
    var phrase: String {
        if let lower, let upper, lower.inclusive, upper.inclusive {
            return "in \(Self.format(lower.value))...\(Self.format(upper.value))"
        }
        let lowerPhrase = lower.map { ($0.inclusive ? "at least " : "greater than ") + Self.format($0.value) }
        let upperPhrase = upper.map { ($0.inclusive ? "at most " : "less than ") + Self.format($0.value) }
        return [lowerPhrase, upperPhrase].compactMap { $0 }.joined(separator: " and ")
    }

    /// `100`, not `100.0`: bounds are shown as a person would write them.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension ConfigNode {
    /// YAML 1.2's core-schema booleans; `yes`/`on` are YAML 1.1 and read as strings by many tools, so refused.
    func boolean() -> Bool? {
        scalar(expected: "true or false") { text throws(InvalidValue) in
            switch text {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: throw InvalidValue("expected true or false, found \(text.debugDescription)")
            }
        }
    }

    /// One of an enum's raw values; `noun` names the kind in the error ("\"x\" is not a balance;
    /// expected connections or kernel").
    func oneOf<E: RawRepresentable & CaseIterable>(_ type: E.Type, noun: String) -> E? where E.RawValue == String {
        let expected = E.allCases.map(\.rawValue).joined(separator: " or ")
        return scalar(expected: expected) { text throws(InvalidValue) in
            guard let value = E(rawValue: text) else {
                throw InvalidValue("\(text.debugDescription) is not \(noun); expected \(expected)")
            }
            return value
        }
    }

    func integer(atLeast minimum: Int) -> Int? {
        scalar(expected: "an integer of at least \(minimum)") { text throws(InvalidValue) in
            guard let value = Int(text) else {
                throw InvalidValue("expected an integer of at least \(minimum), found \(text.debugDescription)")
            }
            guard value >= minimum else { throw InvalidValue("\(value) must be at least \(minimum)") }
            return value
        }
    }

    /// A decimal number written plainly (`99`, `0.05`, `1e-3`); `.inf`, `.nan` and hex are refused.
    func number(_ bounds: NumberBounds) -> Double? {
        let expected = bounds.phrase.isEmpty ? "a number" : "a number \(bounds.phrase)"
        return scalar(expected: expected) { text throws(InvalidValue) in
            guard text.contains(where: \.isASCIIDigit), text.allSatisfy({ $0.isASCIIDigit || "+-.eE".contains($0) }),
                let value = Double(text), value.isFinite
            else { throw InvalidValue("expected \(expected), found \(text.debugDescription)") }
            guard bounds.contains(value) else {
                let closed = bounds.lower?.inclusive == true && bounds.upper?.inclusive == true
                throw InvalidValue(closed ? "\(text) is not \(bounds.phrase)" : "\(text) must be \(bounds.phrase)")
            }
            return value
        }
    }

    /// A duration no shorter than `minimum`, which is shown as `written` (`"100ms"`).
    func duration(atLeast minimum: Duration, written: String) -> Duration? {
        scalar(expected: "a duration like \"2s\" or \"500ms\"") { text throws(InvalidValue) in
            let value = try DurationSyntax.parse(text)
            guard value >= minimum else { throw InvalidValue("\(text.debugDescription) is shorter than \(written)") }
            return value
        }
    }

    /// A mapping of any keys to scalar values, all read as strings (`{ env: prod, replicas: 3 }`).
    func stringMap() -> [String: String]? {
        guard case let .mapping(pairs) = node else {
            report("expected a mapping")
            return nil
        }
        let problemsBefore = log.count
        var map: [String: String] = [:]
        for (key, value) in pairs {
            guard case let .scalar(name) = key else {
                log.report(path: path, line: key.mark?.line, "keys must be strings")
                continue
            }
            map[name.string] = child(name.string, value).scalar(expected: "a string") { $0 }
        }
        return log.count == problemsBefore ? map : nil
    }
}
