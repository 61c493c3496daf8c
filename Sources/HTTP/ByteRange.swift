// A half-open range of byte offsets into the caller's buffer: how every parsed element is reported without copying.

/// Offsets, not pointers, so a head stays valid when the caller moves its bytes into a bigger buffer.
public struct ByteRange: Sendable, Equatable, Hashable {
    public var lowerBound: Int
    public var upperBound: Int

    public init(lowerBound: Int, upperBound: Int) {
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    public var count: Int { upperBound - lowerBound }
    public var isEmpty: Bool { upperBound == lowerBound }
}

extension UnsafeRawBufferPointer {
    /// The bytes `range` designates; `self` must be the parsed buffer (or a copy that starts at the same byte).
    @inlinable
    public func slice(_ range: ByteRange) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range.lowerBound..<range.upperBound])
    }
}
