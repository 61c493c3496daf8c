// The syntax of one field line (RFC 9112 §5): token name, colon, OWS, value of visible bytes, OWS.

struct FieldLine {
    var name: ByteRange
    var value: ByteRange

    /// `line` is non-empty and excludes its CRLF.
    static func parse(_ p: UnsafeRawBufferPointer, _ line: ByteRange) throws(HTTPParseError) -> FieldLine {
        let end = line.upperBound
        // obs-fold is deprecated and lets a smuggled line hide inside a value (RFC 9112 §5.2): reject, never unfold.
        if ASCII.isOWS(p[line.lowerBound]) { throw .badRequest("obsolete line folding") }
        var i = line.lowerBound
        while i < end && ASCII.isTokenChar(p[i]) { i += 1 }
        guard i < end else { throw .badRequest("field line without colon") }
        guard p[i] == ASCII.colon else {
            // RFC 9112 §5.1: whitespace before the colon MUST be rejected (it is another smuggling vector).
            if ASCII.isOWS(p[i]) { throw .badRequest("whitespace between field name and colon") }
            throw .badRequest("invalid character in field name")
        }
        guard i > line.lowerBound else { throw .badRequest("empty field name") }
        let colon = i
        var lo = colon + 1
        while lo < end && ASCII.isOWS(p[lo]) { lo += 1 }
        var hi = end
        while hi > lo && ASCII.isOWS(p[hi - 1]) { hi -= 1 }
        try RequestRules.fieldValue(p, ByteRange(lowerBound: lo, upperBound: hi))
        let value =
            lo == hi
            ? ByteRange(lowerBound: colon + 1, upperBound: colon + 1)
            : ByteRange(lowerBound: lo, upperBound: hi)
        return FieldLine(name: ByteRange(lowerBound: line.lowerBound, upperBound: colon), value: value)
    }
}
