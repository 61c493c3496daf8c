// WebSocket test support: ws_backend.py as a child process, and a blocking WebSocket client over a raw socket.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One ws_backend.py listening on a free loopback port; every response names it in `x-upstream`.
final class WebSocketBackend {
    let name: String
    private let process: ScriptUpstream

    var port: UInt16 { process.port }
    var endpoint: String { process.endpoint }

    /// `tls`: PEM certificate and key; the backend then speaks TLS.
    init(name: String, tls: (certificate: String, privateKey: String)? = nil) throws {
        self.name = name
        let tlsArguments = tls.map { [$0.certificate, $0.privateKey] } ?? []
        process = try ScriptUpstream("ws_backend.py") { port in [String(port), name] + tlsArguments }
    }

    func stop() { process.stop() }
}

/// A WebSocket frame as read: FIN, opcode and unmasked payload.
struct WebSocketFrame: Equatable {
    var fin = true
    var opcode: UInt8
    var payload: [UInt8]

    static let text: UInt8 = 0x1, binary: UInt8 = 0x2, close: UInt8 = 0x8, ping: UInt8 = 0x9, pong: UInt8 = 0xA
}

/// A blocking client: an HTTP/1.1 request on a raw socket, its response head, then WebSocket frames
/// (masked, as a client's must be, RFC 6455 §5.3). Every read is bounded by the socket's timeout.
final class WebSocketClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var isClosed = false

    init(port: UInt16, timeout: Double = 5) throws {
        fd = try Posix.connect(port: port, timeout: timeout)
    }

    deinit { close() }

    func close() {
        if !isClosed { isClosed = true; Glibc.close(fd) }
    }

    /// Sends an upgrade request (`key` as Sec-WebSocket-Key; `upgrade` false: a plain GET) and reads
    /// the response head: its status and fields, leaving what follows it for the frames.
    func handshake(
        path: String = "/", key: String = "dGhlIHNhbXBsZSBub25jZQ==", upgrade: Bool = true, extraFields: String = ""
    ) throws
        -> (status: Int, fields: [HTTPField])
    {
        var request = "GET \(path) HTTP/1.1\r\nHost: example.test\r\n" + extraFields
        if upgrade {
            request += "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            request += "Sec-WebSocket-Key: \(key)\r\n"
        }
        try Posix.sendAll(fd, Array((request + "\r\n").utf8))
        return try readHead()
    }

    /// One response head (status line and fields); a body, if any, is left in the buffer.
    func readHead() throws -> (status: Int, fields: [HTTPField]) {
        while true {
            if let end = findHeadEnd() {
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                let lines = text.components(separatedBy: "\r\n")
                let parts = lines[0].split(separator: " ")
                guard parts.count >= 2, let status = Int(parts[1]) else { throw WireError.malformed("status line \(lines[0])") }
                let fields = lines.dropFirst().map { line -> HTTPField in
                    let colon = line.firstIndex(of: ":") ?? line.endIndex
                    return HTTPField(
                        String(line[..<colon]),
                        String(line[colon...].dropFirst()).trimmingCharacters(in: .whitespaces))
                }
                return (status, fields)
            }
            guard try fill() else { throw WireError.unexpectedEOF("response head") }
        }
    }

    /// `count` bytes of a response body announced by Content-Length.
    func readBody(_ count: Int) throws -> [UInt8] { try take(count) }

    func send(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) throws {
        try Posix.sendAll(fd, Self.frame(opcode, payload, fin: fin, mask: [0x37, 0xFA, 0x21, 0x3D]))
    }

    func receive() throws -> WebSocketFrame {
        let header = try take(2)
        var length = Int(header[1] & 0x7F)
        if length == 126 {
            length = try take(2).reduce(0) { $0 << 8 | Int($1) }
        } else if length == 127 {
            length = try take(8).reduce(0) { $0 << 8 | Int($1) }
        }
        let mask = header[1] & 0x80 != 0 ? try take(4) : nil
        var payload = try take(length)
        if let mask { for i in payload.indices { payload[i] ^= mask[i % 4] } }
        return WebSocketFrame(fin: header[0] & 0x80 != 0, opcode: header[0] & 0x0F, payload: payload)
    }

    /// Sends a message and reads the frame that answers it.
    func echo(_ opcode: UInt8, _ payload: [UInt8]) throws -> WebSocketFrame {
        try send(opcode, payload)
        return try receive()
    }

    /// Reads until the peer closes, at most `timeout` seconds: true when it did (EOF or reset).
    func waitForClose(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard Posix.waitReadable(fd, timeout: max(0, deadline.timeIntervalSinceNow)) else { return false }
            var scratch = [UInt8](repeating: 0, count: 65536)
            do {
                let n = try scratch.withUnsafeMutableBytes { try Posix.receive(fd, into: $0) }
                if n == 0 { return true }
            } catch SocketError.reset {
                return true
            } catch {
                return false
            }
        }
        return false
    }

    func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    static func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool, mask: [UInt8]?) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        if payload.count < 126 {
            out.append(maskBit | UInt8(payload.count))
        } else if payload.count < 65536 {
            out.append(maskBit | 126)
            out += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            out.append(maskBit | 127)
            out += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
        }
        guard let mask else { return out + payload }
        out += mask
        out += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return out
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw WireError.unexpectedEOF("websocket frame") }
        }
        let out = Array(buffer[..<count])
        buffer.removeFirst(count)
        return out
    }

    /// Reads what the socket has into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var scratch = [UInt8](repeating: 0, count: 65536)
        let n = try scratch.withUnsafeMutableBytes { try Posix.receive(fd, into: $0) }
        buffer += scratch[..<n]
        return n > 0
    }
}
