// A small regular-expression dialect for cohort rules, compiled at load and matched without allocating.

/// Cohort rules are matched on every request of their route, on the loops: a match must neither
/// allocate nor backtrack. Swift's `Regex` allocates per match, and glibc's `regexec` allocates and
/// takes a lock. This dialect has no groups, alternation or counted repetition, so a pattern is a
/// sequence of atoms, each a set of bytes with a quantifier, and matching is a simulation of all
/// positions at once (a bit set of at most 64 states): linear in the value's length, no backtracking.
///
/// The dialect (README, "Cohorts"): literal bytes; `.` (any byte); classes `[abc]`, `[a-z0-9_]`,
/// `[^…]`; `\d`, `\w`, `\s` and `\` before any punctuation for that byte; quantifiers `*`, `+`, `?`
/// after an atom; `^` at the start and `$` at the end anchor the match, which otherwise may start and
/// end anywhere in the value (as `grep` finds a line). Bytes are compared case-sensitively.
public struct ByteRegex: Sendable, Equatable {
    /// As written, for messages and equality.
    public let pattern: String
    /// Four 64-bit words per atom: bit b of atom i is set when byte b matches it.
    private let sets: [UInt64]
    /// Bit i: atom i may be skipped (`?` or `*`).
    private let skippable: UInt64
    /// Bit i: atom i may repeat (`*`; `a+` is compiled as `a a*`).
    private let repeating: UInt64
    private let atomCount: Int
    private let anchoredStart: Bool
    private let anchoredEnd: Bool

    public static func == (a: ByteRegex, b: ByteRegex) -> Bool { a.pattern == b.pattern }

    /// At most this many atoms once `+` is expanded: one bit each in a 64-bit state set, plus the accepting state.
    static let maxAtoms = 63

    init(_ pattern: String) throws(InvalidValue) {
        guard !pattern.isEmpty else { throw InvalidValue("must not be empty") }
        var parser = Parser(bytes: Array(pattern.utf8))
        try parser.parse()
        self.pattern = pattern
        sets = parser.sets
        skippable = parser.skippable
        repeating = parser.repeating
        atomCount = parser.count
        anchoredStart = parser.anchoredStart
        anchoredEnd = parser.anchoredEnd
    }

    /// Whether the pattern matches `value` (anywhere in it, unless anchored).
    public func matches(_ value: UnsafeRawBufferPointer) -> Bool {
        let accept = UInt64(1) << UInt64(atomCount)
        let start = closure(1)
        var states = start
        if states & accept != 0 && !anchoredEnd { return true }
        for byte in value {
            var next: UInt64 = 0
            var live = states & (accept - 1)
            while live != 0 {
                let i = live.trailingZeroBitCount
                live &= live - 1
                if sets[i &* 4 &+ Int(byte >> 6)] & (UInt64(1) << UInt64(byte & 63)) != 0 {
                    next |= repeating & (UInt64(1) << UInt64(i)) != 0 ? UInt64(1) << UInt64(i) : UInt64(1) << UInt64(i + 1)
                }
            }
            states = closure(next)
            // Unanchored at the start: a match may begin at the next byte too.
            if !anchoredStart { states |= start }
            if states & accept != 0 && !anchoredEnd { return true }
            if states == 0 { return false }
        }
        return states & accept != 0
    }

    /// `states` plus every state reachable from them by skipping skippable atoms (which only moves forward).
    private func closure(_ states: UInt64) -> UInt64 {
        var s = states
        var i = 0
        while i < atomCount {
            if s & (UInt64(1) << UInt64(i)) != 0 && skippable & (UInt64(1) << UInt64(i)) != 0 { s |= UInt64(1) << UInt64(i + 1) }
            i += 1
        }
        return s
    }

    /// Reads a pattern into atoms; throws at the first construct outside the dialect.
    private struct Parser {
        let bytes: [UInt8]
        var sets: [UInt64] = []
        var skippable: UInt64 = 0
        var repeating: UInt64 = 0
        var count = 0
        var anchoredStart = false
        var anchoredEnd = false
        var i = 0

        mutating func parse() throws(InvalidValue) {
            if bytes.first == UInt8(ascii: "^") { anchoredStart = true; i = 1 }
            while i < bytes.count {
                let c = bytes[i]
                switch c {
                case UInt8(ascii: "$") where i == bytes.count - 1:
                    anchoredEnd = true
                    i += 1
                    continue
                case UInt8(ascii: "^"), UInt8(ascii: "$"):
                    throw InvalidValue("\(Self.shown(c)) is allowed only at the \(c == UInt8(ascii: "^") ? "start" : "end")")
                case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "|"), UInt8(ascii: "{"), UInt8(ascii: "}"):
                    throw InvalidValue(
                        "\(Self.shown(c)) is not supported: the dialect has no groups, alternation or counted repetition; "
                            + "escape it as \(Self.shown(c, escaped: true)) to match it")
                case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
                    throw InvalidValue("\(Self.shown(c)) must follow a character, a class or \".\"")
                default:
                    break
                }
                let set = try atom()
                var quantifier: UInt8 = 0
                if i < bytes.count, [UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?")].contains(bytes[i]) {
                    quantifier = bytes[i]
                    i += 1
                }
                switch quantifier {
                case UInt8(ascii: "*"): try append(set, skip: true, repeats: true)
                case UInt8(ascii: "+"): try append(set, skip: false, repeats: false); try append(set, skip: true, repeats: true)
                case UInt8(ascii: "?"): try append(set, skip: true, repeats: false)
                default: try append(set, skip: false, repeats: false)
                }
            }
        }

        private mutating func append(_ set: [UInt64], skip: Bool, repeats: Bool) throws(InvalidValue) {
            guard count < ByteRegex.maxAtoms else { throw InvalidValue("is longer than \(ByteRegex.maxAtoms) characters and classes") }
            sets += set
            if skip { skippable |= UInt64(1) << UInt64(count) }
            if repeats { repeating |= UInt64(1) << UInt64(count) }
            count += 1
        }

        /// One atom at `i`: a byte, `.`, an escape or a class.
        private mutating func atom() throws(InvalidValue) -> [UInt64] {
            let c = bytes[i]
            i += 1
            switch c {
            case UInt8(ascii: "."): return [UInt64](repeating: ~0, count: 4)
            case UInt8(ascii: "\\"): return try escape()
            case UInt8(ascii: "["): return try bracket()
            default: return Self.set(of: [c])
            }
        }

        /// After a `\`: a shorthand class or the punctuation byte itself.
        private mutating func escape() throws(InvalidValue) -> [UInt64] {
            guard i < bytes.count else { throw InvalidValue("ends with \"\\\"") }
            let c = bytes[i]
            i += 1
            switch c {
            case UInt8(ascii: "d"): return Self.set(of: Array(UInt8(ascii: "0")...UInt8(ascii: "9")))
            case UInt8(ascii: "w"):
                return Self.set(
                    of: Array(UInt8(ascii: "a")...UInt8(ascii: "z")) + Array(UInt8(ascii: "A")...UInt8(ascii: "Z"))
                        + Array(UInt8(ascii: "0")...UInt8(ascii: "9")) + [UInt8(ascii: "_")])
            case UInt8(ascii: "s"): return Self.set(of: [0x20, 0x09])
            default:
                // Only punctuation: `\n`, `\b` and the like mean something else elsewhere, so they are refused.
                guard c < 0x80, !(c >= 0x30 && c <= 0x39), !((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) else {
                    let escapes = "\\d, \\w, \\s and \\ before punctuation"
                    throw InvalidValue("\(Self.shown(c, escaped: true)) is not supported; escapes are \(escapes)")
                }
                return Self.set(of: [c])
            }
        }

        /// After a `[`: members, ranges `a-z`, escapes, a leading `^` to negate, up to `]`.
        private mutating func bracket() throws(InvalidValue) -> [UInt64] {
            var set = [UInt64](repeating: 0, count: 4)
            var negated = false
            if i < bytes.count && bytes[i] == UInt8(ascii: "^") { negated = true; i += 1 }
            var first = true
            while true {
                guard i < bytes.count else { throw InvalidValue("has a \"[\" without its \"]\"") }
                let c = bytes[i]
                if c == UInt8(ascii: "]") && !first { i += 1; break }
                first = false
                if c == UInt8(ascii: "\\") {
                    i += 1
                    let member = try escape()
                    for w in 0..<4 { set[w] |= member[w] }
                    continue
                }
                i += 1
                if i + 1 < bytes.count && bytes[i] == UInt8(ascii: "-") && bytes[i + 1] != UInt8(ascii: "]") {
                    let upper = bytes[i + 1]
                    guard upper >= c else {
                        throw InvalidValue("has the reversed range \"\(Character(Unicode.Scalar(c)))-\(Character(Unicode.Scalar(upper)))\"")
                    }
                    i += 2
                    for b in c...upper { set[Int(b >> 6)] |= UInt64(1) << UInt64(b & 63) }
                } else {
                    set[Int(c >> 6)] |= UInt64(1) << UInt64(c & 63)
                }
            }
            return negated ? set.map { ~$0 } : set
        }

        /// `"c"` (or `"\\c"`) for messages.
        private static func shown(_ c: UInt8, escaped: Bool = false) -> String {
            "\"\(escaped ? "\\" : "")\(Character(Unicode.Scalar(c)))\""
        }

        private static func set(of members: [UInt8]) -> [UInt64] {
            var set = [UInt64](repeating: 0, count: 4)
            for b in members { set[Int(b >> 6)] |= UInt64(1) << UInt64(b & 63) }
            return set
        }
    }
}
