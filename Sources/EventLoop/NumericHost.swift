// A socket address's numeric host as text, held inline: an accepted connection keeps its peer's without a heap allocation.

public struct NumericHost: Sendable {
    /// One byte more than the longest text: inet_ntop writes a NUL after an IPv6 host.
    @usableFromInline var bytes = InlineArray<46, UInt8>(repeating: 0)
    public private(set) var count = 0

    public init(_ address: SocketAddress) {
        var span = bytes.mutableSpan
        count = span.withUnsafeMutableBytes { address.writeNumericHost(into: $0) }
    }

    /// The text's bytes, valid only inside `body`. Inlinable: it runs per request (X-Forwarded-For,
    /// the access log), where an unspecialized generic call across modules would cost more than the copy.
    @inlinable public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.span.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    public var text: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}
