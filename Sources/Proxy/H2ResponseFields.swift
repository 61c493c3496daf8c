// An HTTP/2 upstream's response fields (head, then trailers) copied out of its session's callbacks, with what gRPC needs from them.
import EventLoop
import HTTP

/// The session hands fields one at a time inside its receive; they are kept (bytes in one pooled
/// buffer, ranges in an array whose capacity survives) until the client's session can take them.
struct H2ResponseFields {
    private var bytes: ByteBuffer?
    /// Offsets from the buffer's start (it is only ever appended to, then cleared).
    private var ranges: [(name: ByteRange, value: ByteRange)] = []
    /// `:status` of the head stored; -1 once the head did not fit one buffer (the response is refused).
    private(set) var status = 0
    /// `content-type: application/grpc…`: `grpc-status` decides whether the response failed.
    private(set) var isGRPC = false
    private(set) var grpcStatus = -1

    /// Empty, for a new exchange (the array keeps its capacity, the buffer was given back).
    mutating func restart() {
        ranges.removeAll(keepingCapacity: true)
        status = 0
        isGRPC = false
        grpcStatus = -1
    }

    /// Stores one field; `:status` is read as it passes.
    mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, pool: BufferPool) {
        let buffer = bytes ?? pool.take()
        bytes = buffer
        guard buffer.writableCount >= name.count + value.count else {
            // Larger than a head may be: the response is refused when the head ends.
            status = -1
            return
        }
        let start = buffer.writerIndex
        _ = buffer.append(name)
        _ = buffer.append(value)
        ranges.append(
            (
                ByteRange(lowerBound: start, upperBound: start + name.count),
                ByteRange(lowerBound: start + name.count, upperBound: buffer.writerIndex)
            ))
        if name.count == 7 && name.elementsEqual(":status".utf8) && value.count == 3 && status >= 0 {
            status = Int(value[0] &- 48) * 100 + Int(value[1] &- 48) * 10 + Int(value[2] &- 48)
        }
    }

    /// The head stored is not one to relay: a status out of range, or a head too large.
    var isInvalid: Bool { status < 0 || status > 999 }

    /// Calls `body` with each stored field but the pseudo-fields, noting what gRPC needs; false when
    /// none were stored. The stored fields are then dropped (the session copied them).
    mutating func take(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> Bool {
        guard let buffer = bytes else { return false }
        let stored = UnsafeRawBufferPointer(start: buffer.base, count: buffer.writerIndex)
        for (name, value) in ranges {
            let n = stored.slice(name)
            let v = stored.slice(value)
            if n.first == UInt8(ascii: ":") { continue }
            noteGRPC(name: n, value: v)
            body(n, v)
        }
        clear()
        return true
    }

    /// Drops what is stored (an interim head, or a head refused); the status goes with an interim head.
    mutating func clear(keepingStatus: Bool = true) {
        ranges.removeAll(keepingCapacity: true)
        bytes?.clear()
        if !keepingStatus { status = 0 }
    }

    /// A gRPC response whose `grpc-status` is one of the server's failures.
    var failedGRPC: Bool { isGRPC && Self.failingGRPCStatuses.contains(grpcStatus) }

    /// UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS: the server's failures. The other
    /// codes (NOT_FOUND, INVALID_ARGUMENT, …) are answers about the request, like a 4xx.
    static let failingGRPCStatuses: Set<Int> = [2, 4, 13, 14, 15]

    /// The exchange ended: the buffer goes back to `pool`.
    mutating func release(pool: BufferPool) {
        pool.give(from: &bytes)
        ranges.removeAll(keepingCapacity: true)
    }

    /// `content-type: application/grpc…` and `grpc-status` (in the head of a trailers-only response, or in trailers).
    private mutating func noteGRPC(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if name.count == 12 && name.elementsEqual("content-type".utf8) {
            isGRPC = value.count >= 16 && value.prefix(16).elementsEqual("application/grpc".utf8)
        } else if name.count == 11 && name.elementsEqual("grpc-status".utf8) {
            var code = 0
            for digit in value {
                guard digit >= 48 && digit <= 57 else { code = -1; break }
                code = code * 10 + Int(digit - 48)
            }
            grpcStatus = value.isEmpty ? -1 : code
        }
    }
}
