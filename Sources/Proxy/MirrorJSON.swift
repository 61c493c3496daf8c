// A small JSON reader for the mirror comparison: two bodies equal once the ignored members are removed.

/// A parsed JSON value. Objects compare as maps (member order is not meaning), numbers by value,
/// strings after their escapes are decoded. Built only to compare a mirrored pair of bodies whose
/// route lists `ignoreJSONFields`, once per pair and never on the relay's path.
indirect enum MirrorJSON: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string([UInt8])
    case array([MirrorJSON])
    case object([[UInt8]: MirrorJSON])

    /// The document in `bytes` (surrounding whitespace allowed), or nil when it is not JSON.
    static func parse(_ bytes: [UInt8]) -> MirrorJSON? {
        var reader = Reader(bytes: bytes)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipWhitespace()
        return reader.at == bytes.count ? value : nil
    }

    /// Removes the member at `path` (names from the top-level object down); through an array, from
    /// each of its elements. A path that names nothing changes nothing.
    mutating func remove(path: ArraySlice<[UInt8]>) {
        guard let name = path.first else { return }
        switch self {
        case .object(var members):
            if path.count == 1 {
                members[name] = nil
            } else if var child = members[name] {
                members[name] = nil  // one reference to the child while it changes
                child.remove(path: path.dropFirst())
                members[name] = child
            }
            self = .object(members)
        case .array(var elements):
            self = .null
            for i in elements.indices { elements[i].remove(path: path) }
            self = .array(elements)
        default:
            break
        }
    }

    /// Deeper documents are refused rather than risk the loop's stack.
    static let maxDepth = 64

    private struct Reader {
        let bytes: [UInt8]
        var at = 0

        mutating func skipWhitespace() {
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        }

        mutating func value(depth: Int) -> MirrorJSON? {
            guard depth < MirrorJSON.maxDepth else { return nil }
            skipWhitespace()
            guard at < bytes.count else { return nil }
            switch bytes[at] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map { .string($0) }
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        private mutating func literal(_ word: StaticString, _ value: MirrorJSON) -> MirrorJSON? {
            let n = word.utf8CodeUnitCount
            guard at + n <= bytes.count else { return nil }
            for i in 0..<n where bytes[at + i] != word.utf8Start[i] { return nil }
            at += n
            return value
        }

        private mutating func number() -> MirrorJSON? {
            let start = at
            while at < bytes.count, "+-.eE0123456789".utf8.contains(bytes[at]) { at += 1 }
            guard at > start, let value = Double(String(decoding: bytes[start..<at], as: UTF8.self)) else { return nil }
            return .number(value)
        }

        private mutating func object(depth: Int) -> MirrorJSON? {
            at += 1
            var members: [[UInt8]: MirrorJSON] = [:]
            skipWhitespace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\""), let name = string() else { return nil }
                skipWhitespace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return nil }
                at += 1
                guard let member = value(depth: depth + 1) else { return nil }
                members[name] = member
                skipWhitespace()
                guard at < bytes.count else { return nil }
                at += 1
                if bytes[at - 1] == UInt8(ascii: "}") { return .object(members) }
                guard bytes[at - 1] == UInt8(ascii: ",") else { return nil }
            }
        }

        private mutating func array(depth: Int) -> MirrorJSON? {
            at += 1
            var elements: [MirrorJSON] = []
            skipWhitespace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(elements) }
            while true {
                guard let element = value(depth: depth + 1) else { return nil }
                elements.append(element)
                skipWhitespace()
                guard at < bytes.count else { return nil }
                at += 1
                if bytes[at - 1] == UInt8(ascii: "]") { return .array(elements) }
                guard bytes[at - 1] == UInt8(ascii: ",") else { return nil }
            }
        }

        /// A string's content with its escapes decoded to UTF-8 (`at` on its opening quote).
        private mutating func string() -> [UInt8]? {
            at += 1
            var out: [UInt8] = []
            while at < bytes.count {
                let c = bytes[at]
                at += 1
                switch c {
                case UInt8(ascii: "\""): return out
                case UInt8(ascii: "\\"):
                    guard at < bytes.count else { return nil }
                    let e = bytes[at]
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var scalar = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar), at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"),
                            bytes[at + 1] == UInt8(ascii: "u")
                        {
                            at += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        out.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
                    default: return nil
                    }
                case 0..<0x20: return nil
                default: out.append(c)
                }
            }
            return nil
        }

        private mutating func hex4() -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for i in 0..<4 {
                let c = bytes[at + i]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            at += 4
            return v
        }
    }
}
