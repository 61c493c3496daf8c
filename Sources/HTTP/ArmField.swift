// The field naming the arm that served a response (`x-canarygate-arm: canary/v2`), as the response writers use it.

/// A view of bytes the proxy's snapshot owns for as long as a request routed under it lives:
/// `line` is the whole HTTP/1.1 field line, `name: ARM/REVISION\r\n`, the name lower-case.
/// An upstream's own field of that name is dropped from its response, so it cannot pass for the proxy's.
public struct ArmField: @unchecked Sendable {
    public let line: UnsafeRawBufferPointer
    /// The name's length: a writer compares it with each field's before comparing bytes.
    public let nameCount: Int

    public init(line: UnsafeRawBufferPointer, nameCount: Int) {
        self.line = line
        self.nameCount = nameCount
    }

    public var name: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: line[0..<nameCount]) }
    /// `ARM/REVISION`: between ": " and the CRLF.
    public var value: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: line[(nameCount + 2)..<(line.count - 2)]) }

    /// Whether the field name at `range` of `p` is this field's, ignoring case. Lengths differ for
    /// nearly every field, so the usual cost is one comparison.
    @inline(__always)
    public func isNamed(_ p: UnsafeRawBufferPointer, _ range: ByteRange) -> Bool {
        guard range.count == nameCount else { return false }
        for k in 0..<nameCount {
            var c = p[range.lowerBound + k]
            if c &- UInt8(ascii: "A") < 26 { c |= 0x20 }
            if c != line[k] { return false }
        }
        return true
    }

    /// `isNamed` over a whole name (an HTTP/2 field's, already lower-case, or any).
    @inline(__always)
    public func isNamed(_ name: UnsafeRawBufferPointer) -> Bool {
        name.count == nameCount && isNamed(name, ByteRange(lowerBound: 0, upperBound: nameCount))
    }
}
