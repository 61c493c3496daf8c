// Reads one HTTP/1.1 response of the etcd gateway as its bytes arrive: the head, then the body by Content-Length or chunks.
import HTTP

/// Socket-free, so every framing rule is unit tested: the unary client feeds it until the response
/// is complete, a watch feeds it for as long as the stream lasts and handles the body as it comes.
/// The head is parsed by the data plane's strict parser and chunks are decoded by its `ChunkedScanner`
/// (trailers, which the gateway sends after an error, included): one HTTP/1.1 grammar in the project.
struct GatewayResponseReader {
    enum Progress: Equatable {
        /// The body (or the head) continues.
        case needMore
        /// The response is complete.
        case done
    }

    /// Set once the head is complete.
    private(set) var status: Int?
    /// Whether the connection may carry another request after this response.
    private(set) var keepAlive = false
    /// Any byte of the response arrived: a request that fails after this may have been executed.
    private(set) var receivedAny = false

    private enum Body {
        case head
        case length(remaining: UInt64)
        case chunked
        case untilClose
        case done
    }

    private var body = Body.head
    private var headBytes: [UInt8] = []
    private var parser = ResponseHeadParser(maxHeaderBytes: 16 * 1024, maxHeaderCount: 64)
    private var head = ResponseHead()
    private var chunks = ChunkedScanner()

    init() {}

    /// Takes the bytes received since the last call; each run of body bytes goes to `payload`, in order.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void) throws(EtcdError) -> Progress {
        if !bytes.isEmpty { receivedAny = true }
        guard case .head = body else { return try feedBody(bytes, payload) }
        headBytes += bytes
        let result = headBytes.withUnsafeBytes { parser.parse($0, requestMethod: .post, into: &head) }
        switch result {
        case .incomplete: return .needMore
        case .error(let error): throw .malformed("invalid response head: \(error.reason)")
        case .complete: break
        }
        guard head.status >= 200 else { throw .malformed("unexpected interim response \(head.status)") }
        status = head.status
        keepAlive = head.keepAlive
        switch head.framing {
        case .none: body = .done
        case .contentLength(let length): body = .length(remaining: length)
        case .chunked: body = .chunked
        case .untilClose: body = .untilClose
        }
        let rest = Array(headBytes[head.headLength...])
        headBytes = []
        if case .done = body { return finished(extra: rest.count) }
        return try rest.withBytes { rest throws(EtcdError) in try feedBody(rest, payload) }
    }

    /// The peer closed the connection: ends a body framed by the close, and is an error anywhere else.
    mutating func finishAtClose() throws(EtcdError) {
        switch body {
        case .untilClose: body = .done
        case .done: break
        case .head: throw .malformed(receivedAny ? "connection closed inside the response head" : "connection closed before a response")
        case .length, .chunked: throw .malformed("connection closed inside the response body")
        }
    }

    private mutating func feedBody(
        _ bytes: UnsafeRawBufferPointer, _ payload: (UnsafeRawBufferPointer) -> Void
    ) throws(EtcdError)
        -> Progress
    {
        switch body {
        case .head: preconditionFailure("the head is read first")
        case .done: return finished(extra: bytes.count)
        case .untilClose:
            if !bytes.isEmpty { payload(bytes) }
            return .needMore
        case .length(let remaining):
            let take = Int(min(UInt64(bytes.count), remaining))
            if take > 0 { payload(UnsafeRawBufferPointer(rebasing: bytes[0..<take])) }
            if UInt64(take) < remaining {
                body = .length(remaining: remaining - UInt64(take))
                return .needMore
            }
            body = .done
            return finished(extra: bytes.count - take)
        case .chunked:
            switch chunks.decode(bytes, payload: payload) {
            case .needMore: return .needMore
            case .error(let error): throw .malformed("invalid chunked body: \(error.reason)")
            case .done(let consumed):
                body = .done
                return finished(extra: bytes.count - consumed)
            }
        }
    }

    /// The gateway never sends a byte past the response it was asked for: if it does, the framing is
    /// not what this reader thinks, and the connection is not reused.
    private mutating func finished(extra: Int) -> Progress {
        if extra > 0 { keepAlive = false }
        return .done
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws `EtcdError`: the standard one rethrows an untyped error.
    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws(EtcdError) -> T) throws(EtcdError) -> T {
        try withUnsafeBytes { bytes in Result { () throws(EtcdError) in try body(bytes) } }.get()
    }
}
