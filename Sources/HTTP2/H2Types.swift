// The values both HTTP/2 session roles use: body reads, settings, errors and error codes.
import CNGHTTP2

/// What a stream's body source gave the session for one DATA frame.
public enum H2BodyRead {
    /// `count` bytes were written into the frame; `last` ends the body, with END_STREAM unless
    /// `trailers` (the owner then submits the trailing fields from within the same call).
    case bytes(Int, last: Bool, trailers: Bool = false)
    /// Nothing to send yet: the session stops asking until `resume(stream:)`.
    case deferred
    /// The body cannot be completed (the upstream failed mid-body): the stream is reset.
    case failed
}

extension H2BodyRead {
    /// What a DATA source callback returns to nghttp2 for this read, with the flags it sets.
    func frameResult(_ flags: UnsafeMutablePointer<UInt32>) -> Int {
        switch self {
        case .bytes(let n, let last, let trailers):
            if last { flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
            if trailers { flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue }
            return n
        case .deferred:
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        case .failed:
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
    }
}

public struct H2Settings: Sendable {
    public var maxConcurrentStreams: UInt32
    /// Per stream: how many body bytes the peer may send before the proxy hands them on; what bounds
    /// the bytes held for one stream.
    public var initialWindowSize: UInt32
    /// For the whole connection: acknowledged as bytes arrive, so it only limits bytes in flight.
    public var connectionWindowSize: Int32
    /// Advertised as SETTINGS_MAX_HEADER_LIST_SIZE (the proxy also enforces it per stream).
    public var maxHeaderListSize: UInt32

    public init(
        maxConcurrentStreams: UInt32 = 100, initialWindowSize: UInt32 = 65_535,
        connectionWindowSize: Int32 = 1 << 20, maxHeaderListSize: UInt32 = 16 * 1024
    ) {
        self.maxConcurrentStreams = maxConcurrentStreams
        self.initialWindowSize = initialWindowSize
        self.connectionWindowSize = connectionWindowSize
        self.maxHeaderListSize = maxHeaderListSize
    }
}

public struct H2Error: Error, CustomStringConvertible, Sendable {
    public let code: Int
    public let operation: String
    public var description: String { "\(operation): \(String(cString: nghttp2_strerror(Int32(code))))" }
}

/// RST_STREAM and GOAWAY codes (RFC 9113 §7) the proxy sends.
public enum H2ErrorCode: UInt32, Sendable {
    case noError = 0x0
    case protocolError = 0x1
    case internalError = 0x2
    case refusedStream = 0x7
    case cancel = 0x8
    case enhanceYourCalm = 0xb
}

func check(_ rv: Int32, _ operation: String) throws(H2Error) {
    if rv != 0 { throw H2Error(code: Int(rv), operation: operation) }
}
