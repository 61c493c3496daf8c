// A cursor over an output buffer: serialisers write through it and learn at the end whether everything fitted.

struct ByteWriter {
    private let out: UnsafeMutableRawBufferPointer
    private var position = 0
    /// Once set, further writes are ignored: callers check once at the end instead of after every piece.
    private var overflowed = false

    init(_ out: UnsafeMutableRawBufferPointer) {
        self.out = out
    }

    /// Bytes written, or nil when `out` was too small.
    var result: Int? { overflowed ? nil : position }

    // Inlined: heads are written a dozen pieces at a time, and literal pieces then copy with a known length.
    @inline(__always)
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard !overflowed, bytes.count <= out.count - position else {
            overflowed = true
            return
        }
        if let source = bytes.baseAddress, let base = out.baseAddress {
            (base + position).copyMemory(from: source, byteCount: bytes.count)
        }
        position += bytes.count
    }

    @inline(__always)
    mutating func write(_ literal: StaticString) {
        // Not utf8Start: a one-character literal may be stored as a scalar, without a pointer.
        literal.withUTF8Buffer { write(UnsafeRawBufferPointer($0)) }
    }

    /// The next `count` bytes of the output, for the caller to fill, or nil (and overflowed) when they do not fit.
    @inline(__always)
    mutating func reserve(_ count: Int) -> UnsafeMutableRawPointer? {
        guard !overflowed, count <= out.count - position, let base = out.baseAddress else {
            overflowed = true
            return nil
        }
        defer { position += count }
        return base + position
    }

    mutating func write(byte: UInt8) {
        guard !overflowed, position < out.count else {
            overflowed = true
            return
        }
        out[position] = byte
        position += 1
    }

    mutating func writeDecimal(_ value: UInt64) {
        // UInt64.max has 20 digits; built backwards in a stack tuple so no String is made.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var v = value
            var k = buffer.count
            repeat {
                k -= 1
                buffer[k] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v != 0
            write(UnsafeRawBufferPointer(rebasing: buffer[k...]))
        }
    }
}
