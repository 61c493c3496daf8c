// Load with client timeouts: keep-alive clients at a bounded rate that give up on a request after a deadline,
// close the connection (the proxy sees a client abort) and reconnect.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `TrafficLoad` waits up to 3 s per read and treats a timeout as an error; a user's client gives up sooner
/// and goes away. Here each of `clients` threads sends `GET /judge/W/I` on a keep-alive connection at most
/// `ratePerClient` times a second (a client that fell behind — after a request it gave up on — does not
/// catch up in a burst), and waits at most `deadline` seconds for the whole response. At the deadline it
/// closes the connection, counts the request as abandoned, and connects afresh for the next one.
///
/// Bounded: every thread stops after `maxSeconds`, and the clients together send at most `maxRequests`.
/// Answers are counted by status and by arm (the body's first word: judge_backend.py starts every body with
/// its `--text`), with the latency of each.
final class PatientLoad: @unchecked Sendable {
    struct Counts: CustomStringConvertible {
        var sent = 0
        var byStatus: [Int: Int] = [:]
        /// By the body's first word ("v1", "v2", …) for every answered request.
        var byArm: [String: Int] = [:]
        /// Given up at the deadline (the client closed the connection).
        var abandoned = 0
        /// Connect failures, resets, EOF before the end of a response, malformed responses.
        var errors = 0
        var errorSamples: [String] = []
        /// Seconds from the request sent to the response's last byte, answered requests only.
        var latencies: [Double] = []

        var answered: Int { byStatus.values.reduce(0, +) }

        func quantile(_ q: Double) -> Double? {
            guard !latencies.isEmpty else { return nil }
            let sorted = latencies.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
        }

        var description: String {
            let ms = { (q: Double) in quantile(q).map { String(format: "%.1f ms", $0 * 1000) } ?? "-" }
            return "sent \(sent), answered \(answered) \(byStatus.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }), "
                + "arms \(byArm.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }), abandoned \(abandoned), "
                + "errors \(errors) \(errorSamples.prefix(3)), p50 \(ms(0.5)) p99 \(ms(0.99))"
        }
    }

    let deadline: Double
    private let lock = NSLock()
    private var counts = Counts()
    private let stopFlag = Locked(false)
    private let group = DispatchGroup()

    init(
        port: UInt16, clients: Int = 8, ratePerClient: Double = 50, deadline: Double = 1.0,
        maxRequests: Int = 40_000, maxSeconds: Double = 45
    ) {
        self.deadline = deadline
        let hardDeadline = Date().addingTimeInterval(maxSeconds)
        let period = 1 / ratePerClient
        for worker in 0..<clients {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                var connection: PatientConnection?
                // Clients start spread over one period, not in lockstep.
                var next = Date().addingTimeInterval(period * Double(worker) / Double(clients))
                var i = 0
                while !stopFlag.value && Date() < hardDeadline {
                    let wait = next.timeIntervalSinceNow
                    if wait > 0 { usleep(UInt32(min(wait, 0.2) * 1_000_000)); continue }
                    next = max(next.addingTimeInterval(period), Date())
                    guard
                        lock.withLock({ () -> Bool in
                            guard counts.sent < maxRequests else { return false }
                            counts.sent += 1
                            return true
                        })
                    else { break }
                    i += 1
                    do {
                        if connection == nil { connection = try PatientConnection(port: port) }
                        let started = Date()
                        switch try connection!.get("/judge/\(worker)/\(i)", deadline: started.addingTimeInterval(deadline)) {
                        case .answered(let status, let body, let close):
                            let latency = Date().timeIntervalSince(started)
                            let arm = body.split(separator: " ", maxSplits: 1).first.map { String($0.prefix(32)) } ?? ""
                            lock.withLock {
                                counts.byStatus[status, default: 0] += 1
                                counts.byArm[arm, default: 0] += 1
                                counts.latencies.append(latency)
                            }
                            if close { connection?.close(); connection = nil }
                        case .gaveUp:
                            lock.withLock { counts.abandoned += 1 }
                            connection?.close()
                            connection = nil
                        }
                    } catch {
                        lock.withLock {
                            counts.errors += 1
                            if counts.errorSamples.count < 20 { counts.errorSamples.append("client \(worker) #\(i): \(error)") }
                        }
                        connection?.close()
                        connection = nil
                        usleep(20_000)
                    }
                }
                connection?.close()
            }
            thread.name = "patient-load-\(worker)"
            thread.start()
        }
    }

    /// Stops every client and waits for them (each is at most `deadline` into a request).
    @discardableResult
    func stop() -> Bool {
        stopFlag.value = true
        return group.wait(timeout: .now() + deadline + 5) == .success
    }

    deinit { stop() }

    var snapshot: Counts { lock.withLock { counts } }
    var abandoned: Int { lock.withLock { counts.abandoned } }
    var answered: Int { lock.withLock { counts.answered } }
    func count(arm: String) -> Int { lock.withLock { counts.byArm[arm, default: 0] } }
    func count(status: Int) -> Int { lock.withLock { counts.byStatus[status, default: 0] } }
}

/// Runs `body` with patient load running; the load is stopped (its threads joined) whatever happens.
func withPatientLoad<T>(
    _ port: UInt16, clients: Int = 8, ratePerClient: Double = 50, deadline: Double = 1.0,
    maxRequests: Int = 40_000, maxSeconds: Double = 45, _ body: (PatientLoad) throws -> T
) rethrows -> T {
    let load = PatientLoad(
        port: port, clients: clients, ratePerClient: ratePerClient, deadline: deadline,
        maxRequests: maxRequests, maxSeconds: maxSeconds)
    defer { load.stop() }
    return try body(load)
}

/// One keep-alive HTTP/1.1 connection whose reads are bounded by a deadline for the whole response, not per
/// `recv` (SO_RCVTIMEO would restart with every byte that trickles in).
final class PatientConnection {
    enum Result {
        case answered(status: Int, body: String, close: Bool)
        /// The deadline passed before the response was complete.
        case gaveUp
    }

    private let fd: Int32
    private var closed = false
    private var buffer: [UInt8] = []

    init(port: UInt16) throws {
        fd = try Posix.connect(port: port, timeout: 1)
        Posix.setTimeouts(fd, receive: 1, send: 1)
    }

    deinit { close() }

    /// A plain close (FIN): for the proxy, a client gone before its response ended.
    func close() {
        if !closed { closed = true; Glibc.close(fd) }
    }

    func get(_ target: String, deadline: Date) throws -> Result {
        try Posix.sendAll(fd, HTTPText.request("GET", target, host: "judge.test"), op: "patient send")
        buffer.removeAll(keepingCapacity: true)
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        var sawEOF = false
        while true {
            if let result = try parse(eof: sawEOF) { return result }
            if sawEOF { throw WireError.unexpectedEOF("response (\(buffer.count) bytes)") }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 || !Posix.waitReadable(fd, timeout: remaining) { return .gaveUp }
            let n = try scratch.withUnsafeMutableBytes { try Posix.receive(fd, into: $0, op: "patient recv") }
            if n == 0 { sawEOF = true } else { buffer.append(contentsOf: scratch[..<n]) }
        }
    }

    /// The response in `buffer` if it is complete: a head, then a Content-Length, chunked or until-EOF body.
    private func parse(eof: Bool) throws -> Result? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard buffer.count >= 4,
            let headEnd = (0...(buffer.count - 4)).first(where: { buffer[$0..<($0 + 4)].elementsEqual(separator) })
        else {
            return nil
        }
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw WireError.malformed("status line \(lines[0].debugDescription)")
        }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bodyStart = headEnd + 4
        let close = fields["connection"]?.lowercased().contains("close") == true
        if (100..<200).contains(status) {  // an interim response: drop it and wait for the final one
            buffer.removeFirst(bodyStart)
            return try parse(eof: eof)
        }
        if status == 204 || status == 304 { return .answered(status: status, body: "", close: close) }
        if let length = fields["content-length"].flatMap({ Int($0) }) {
            guard buffer.count >= bodyStart + length else { return nil }
            return .answered(status: status, body: String(decoding: buffer[bodyStart..<(bodyStart + length)], as: UTF8.self), close: close)
        }
        if fields["transfer-encoding"]?.lowercased().contains("chunked") == true {
            // Small test bodies: complete once the last chunk and the empty trailer section arrived.
            let last: [UInt8] = Array("0\r\n\r\n".utf8)
            guard buffer.count >= bodyStart + last.count, buffer.suffix(last.count).elementsEqual(last) else { return nil }
            return .answered(status: status, body: String(decoding: buffer[bodyStart...], as: UTF8.self), close: close)
        }
        guard eof else { return nil }
        return .answered(status: status, body: String(decoding: buffer[bodyStart...], as: UTF8.self), close: true)
    }
}
