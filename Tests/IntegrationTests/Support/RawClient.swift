// A blocking HTTP/1.1 test client over raw bytes: exact requests out, parsed responses in, pipelining allowed.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct ClientResponse: Sendable {
    var version: String
    var status: Int
    var reason: String
    var headers: [HTTPField]
    var framing: BodyFraming
    /// The body (unless a sink consumed it).
    var body: [UInt8]
    var bodyCount: Int
    var trailers: [HTTPField]

    var text: String { body.text }
    var isInformational: Bool { (100..<200).contains(status) }
    var announcesClose: Bool { headers.tokens("connection").contains("close") }
}

/// How a connection ended up after waiting on it.
enum PeerState: Equatable, CustomStringConvertible {
    /// EOF or RST: the peer closed it.
    case closed
    /// Bytes arrived instead.
    case data([UInt8])
    /// Still open and silent at the deadline.
    case open

    var description: String {
        switch self {
        case .closed: return "closed"
        case .data(let bytes): return "data(\(Array(bytes.prefix(200)).text.debugDescription))"
        case .open: return "open"
        }
    }
}

final class RawClient {
    static let defaultTimeout = 5.0

    let fd: Int32
    let port: UInt16
    private let reader: WireReader
    private var isClosed = false

    /// Connects to 127.0.0.1:port; every later send and receive is bounded by `timeout`.
    init(port: UInt16, timeout: Double = RawClient.defaultTimeout) throws {
        self.port = port
        fd = try Posix.connect(port: port, timeout: timeout)
        reader = WireReader(fd: fd)
    }

    deinit { close() }

    func close() {
        if !isClosed { isClosed = true; Glibc.close(fd) }
    }

    /// Closes with SO_LINGER 0: the proxy sees a reset, as from a client that crashed.
    func resetClose() {
        if !isClosed { isClosed = true; Posix.resetClose(fd) }
    }

    /// Changes the receive bound (e.g. a long read while the proxy is expected to time out).
    func setReceiveTimeout(_ seconds: Double) {
        Posix.setTimeouts(fd, receive: seconds, send: Self.defaultTimeout)
    }

    // MARK: - Sending

    func send(_ bytes: [UInt8]) throws { try Posix.sendAll(fd, bytes, op: "client send") }
    func send(_ text: String) throws { try send(text.bytes) }

    /// `count` bytes of `BodyPattern`, raw (for a Content-Length body) or as chunks of `piece` bytes.
    func sendPattern(count: Int, chunked: Bool, piece: Int = 64 * 1024) throws {
        try BodyPattern.generate(count: count, piece: piece) { data in
            if chunked { try send(HTTPText.chunkHeader(data.count)) }
            try Posix.sendAll(fd, data, op: "client send body")
            if chunked { try send([13, 10]) }
        }
        if chunked { try send(HTTPText.lastChunk) }
    }

    // MARK: - Receiving

    /// The next response on the connection, 1xx included. `method` matters: a HEAD response has no body.
    /// With a `sink`, body bytes go there instead of into `body`.
    func readResponse(method: String = "GET", sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> ClientResponse {
        guard let head = try reader.readHead(what: "response head") else {
            throw WireError.unexpectedEOF("response head (connection closed before any byte)")
        }
        let parts = head.startLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw WireError.malformed("status line \(head.startLine.debugDescription)")
        }
        let framing = Self.framing(method: method, status: status, fields: head.fields)
        var body: [UInt8] = []
        var count = 0
        let trailers = try reader.readBody(framing, what: "response body") { piece in
            count += piece.count
            if let sink { try sink(piece) } else { body.append(contentsOf: piece) }
        }
        return ClientResponse(
            version: String(parts[0]), status: status,
            reason: parts.count > 2 ? String(parts[2]) : "", headers: head.fields,
            framing: framing, body: body, bodyCount: count, trailers: trailers)
    }

    /// The next final response, skipping (and returning) any 1xx before it.
    func readFinalResponse(
        method: String = "GET", sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil
    ) throws
        -> (interim: [ClientResponse], final: ClientResponse)
    {
        var interim: [ClientResponse] = []
        while true {
            let response = try readResponse(method: method, sink: sink)
            if response.isInformational && response.status != 101 { interim.append(response); continue }
            return (interim, response)
        }
    }

    /// Sends a request and reads its final response.
    func exchange(_ request: [UInt8], method: String = "GET") throws -> ClientResponse {
        try send(request)
        return try readFinalResponse(method: method).final
    }

    func get(_ target: String = "/", host: String? = "example.test", headers: [HTTPField] = []) throws -> ClientResponse {
        try exchange(HTTPText.request("GET", target, host: host, headers: headers))
    }

    /// Waits up to `timeout` for the peer to close the connection (EOF or RST).
    func waitForPeer(timeout: Double) -> PeerState {
        if reader.bufferedCount > 0 {
            var pending: [UInt8] = []
            try? reader.readExact(reader.bufferedCount) { pending.append(contentsOf: $0) }
            return .data(pending)
        }
        if reader.sawEOF { return .closed }
        guard Posix.waitReadable(fd, timeout: timeout) else { return .open }
        var scratch = [UInt8](repeating: 0, count: 4096)
        do {
            let n = try scratch.withUnsafeMutableBytes { try Posix.receive(fd, into: $0) }
            return n == 0 ? .closed : .data(Array(scratch[..<n]))
        } catch SocketError.reset {
            return .closed
        } catch {
            return .open
        }
    }

    /// Response framing per RFC 9112 §6.3.
    static func framing(method: String, status: Int, fields: [HTTPField]) -> BodyFraming {
        if method == "HEAD" || (100..<200).contains(status) || status == 204 || status == 304 { return .none }
        if fields.has("transfer-encoding") {
            return fields.tokens("transfer-encoding").last == "chunked" ? .chunked : .untilClose
        }
        if let cl = fields["content-length"], let n = Int(cl) { return .contentLength(n) }
        return .untilClose
    }

    /// One request on a fresh connection.
    static func fetch(
        port: UInt16, _ request: [UInt8], method: String = "GET",
        timeout: Double = RawClient.defaultTimeout
    ) throws -> ClientResponse {
        let client = try RawClient(port: port, timeout: timeout)
        defer { client.close() }
        return try client.exchange(request, method: method)
    }
}
