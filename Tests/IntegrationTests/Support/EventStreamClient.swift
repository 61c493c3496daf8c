// A client of the admin API's GET /events over a raw socket: the response head, then one SSE message at a time.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Used by one thread at a time (a test may hand it to a reader thread).
final class EventStreamClient: @unchecked Sendable {
    struct Message {
        var event: String
        var data: String
        var receivedAt: Date

        /// The data as a JSON object (`status`, `timeline`).
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] }
    }

    let fd: Int32
    let status: Int
    let headers: [HTTPField]
    private let reader: WireReader
    private var closed = false

    /// Connects and sends `GET /events`. `receiveBuffer`: SO_RCVBUF set before connecting (a small window, for a
    /// client that stops reading); `read: false` sends the request and reads nothing, not even the head.
    init(port: UInt16, headers: [HTTPField] = [], receiveBuffer: Int32? = nil, read: Bool = true, timeout: Double = 5) throws {
        let socket = try Posix.newTCPSocket()
        if var size = receiveBuffer { setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        Posix.setTimeouts(socket, receive: timeout, send: timeout)
        var address = Posix.loopbackAddress(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(socket)
            throw SocketError.failed("connect to \(port)", e)
        }
        fd = socket
        reader = WireReader(fd: socket, capacity: 8 << 20)
        // What EventSource sends; the API refuses /events without it (406).
        var fields = headers
        if !headers.contains(where: { $0.name.lowercased() == "accept" }) { fields.insert(HTTPField("Accept", "text/event-stream"), at: 0) }
        try Posix.sendAll(socket, HTTPText.request("GET", "/events", host: "127.0.0.1:\(port)", headers: fields))
        guard read else {
            status = 0
            self.headers = []
            return
        }
        guard let head = try reader.readHead(what: "event stream head") else { throw WireError.unexpectedEOF("event stream head") }
        status = Int(head.startLine.split(separator: " ").dropFirst().first ?? "") ?? -1
        self.headers = head.fields
    }

    deinit { close() }

    func close() {
        if !closed {
            closed = true
            Glibc.close(fd)
        }
    }

    /// The next message; nil when the server closed the stream. Throws when none came within the socket's timeout.
    func next() throws -> Message? {
        var event = "message", data: [String] = []
        while let line = try reader.readLine(limit: 8 << 20, what: "event stream line") {
            if line.isEmpty {
                if data.isEmpty { continue }
                return Message(event: event, data: data.joined(separator: "\n"), receivedAt: Date())
            }
            if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
        }
        return nil
    }

    /// Whether the server has closed its end (its socket left ESTABLISHED in /proc/net/tcp), seen without reading
    /// what it sent before.
    func serverClosed(adminPort: UInt16) -> Bool {
        // Read to the end: /proc files report size 0, and a read by their size gets one page of the table.
        guard let local = try? Posix.localPort(fd), let file = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return false }
        defer { try? file.close() }
        let table = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        let server = String(format: ":%04X", adminPort), client = String(format: ":%04X", local)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 3, fields[1].hasSuffix(server), fields[2].hasSuffix(client) else { continue }
            return fields[3] != "01"
        }
        return true  // gone from the table altogether
    }

    /// Reads and drops everything until the server closes the stream (true) or `timeout` passes (false).
    func drainUntilClosed(timeout: Double) -> Bool {
        Posix.setTimeouts(fd, receive: 0.5, send: 0.5)
        let deadline = Date().addingTimeInterval(timeout)
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while Date() < deadline {
            do {
                if try scratch.withUnsafeMutableBytes({ try Posix.receive(fd, into: $0) }) == 0 { return true }
            } catch SocketError.reset {
                return true
            } catch {
                continue
            }
        }
        return false
    }
}
