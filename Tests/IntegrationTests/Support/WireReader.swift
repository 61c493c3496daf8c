// A buffered reader over a blocking socket that understands HTTP/1.1 message framing (heads, CL, chunked, EOF).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum WireError: Error, CustomStringConvertible {
    case unexpectedEOF(String)
    case malformed(String)
    case tooLarge(String)

    var description: String {
        switch self {
        case .unexpectedEOF(let what): return "connection closed while reading \(what)"
        case .malformed(let what): return "malformed \(what)"
        case .tooLarge(let what): return "\(what) too large"
        }
    }
}

/// How a message body is delimited on the wire (RFC 9112 §6).
enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
    case untilClose
}

/// A head as read: the start line and the fields in wire order.
struct WireHead: Sendable {
    var startLine: String
    var fields: [HTTPField]
}

/// Reads from one socket through its own buffer; body bytes are handed to a sink as slices of that
/// buffer, so a 50 MB body never exists in memory at once.
final class WireReader {
    let fd: Int32
    private var storage: UnsafeMutableRawBufferPointer
    private var readIndex = 0
    private var writeIndex = 0
    private(set) var sawEOF = false

    init(fd: Int32, capacity: Int = 64 * 1024) {
        self.fd = fd
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Bytes already received but not consumed.
    var bufferedCount: Int { writeIndex - readIndex }

    /// Receives more bytes into the buffer. Returns false at end of stream.
    @discardableResult
    func fill(op: String = "recv") throws -> Bool {
        if sawEOF { return false }
        if readIndex == writeIndex { readIndex = 0; writeIndex = 0 }
        if writeIndex == storage.count {
            if readIndex > 0 {
                // Compact: move the unread tail to the front.
                let unread = writeIndex - readIndex
                memmove(storage.baseAddress!, storage.baseAddress! + readIndex, unread)
                readIndex = 0
                writeIndex = unread
            } else {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 16)
                bigger.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: writeIndex)
                storage.deallocate()
                storage = bigger
            }
        }
        let space = UnsafeMutableRawBufferPointer(rebasing: storage[writeIndex...])
        let n = try Posix.receive(fd, into: space, op: op)
        if n == 0 { sawEOF = true; return false }
        writeIndex += n
        return true
    }

    /// One line without its CRLF (a bare LF is accepted). nil when the stream ends before any byte of it.
    func readLine(limit: Int = 256 * 1024, what: String = "line") throws -> String? {
        var scanned = 0
        while true {
            let available = writeIndex - readIndex
            if available > scanned,
                let hit = memchr(storage.baseAddress! + readIndex + scanned, 0x0A, available - scanned)
            {
                let end = storage.baseAddress!.distance(to: hit)
                var lineEnd = end
                if lineEnd > readIndex && storage[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = String(decoding: UnsafeRawBufferPointer(rebasing: storage[readIndex..<lineEnd]), as: UTF8.self)
                readIndex = end + 1
                return line
            }
            scanned = available
            if available > limit { throw WireError.tooLarge(what) }
            if try !fill(op: "read \(what)") {
                if writeIndex == readIndex { return nil }
                throw WireError.unexpectedEOF(what)
            }
        }
    }

    /// A start line and its fields up to the empty line. nil if the stream ends cleanly before it.
    func readHead(what: String = "head") throws -> WireHead? {
        guard let startLine = try readLine(what: what) else { return nil }
        var fields: [HTTPField] = []
        while true {
            guard let line = try readLine(what: what) else { throw WireError.unexpectedEOF(what) }
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw WireError.malformed("field line \(line.debugDescription)") }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            fields.append(HTTPField(name, value))
        }
        return WireHead(startLine: startLine, fields: fields)
    }

    /// Exactly `count` bytes, handed to `sink` in pieces.
    func readExact(_ count: Int, what: String = "body", sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = count
        while remaining > 0 {
            if readIndex == writeIndex {
                if try !fill(op: "read \(what)") { throw WireError.unexpectedEOF("\(what) (\(count - remaining) of \(count) bytes)") }
            }
            let n = min(remaining, writeIndex - readIndex)
            try sink(UnsafeRawBufferPointer(rebasing: storage[readIndex..<(readIndex + n)]))
            readIndex += n
            remaining -= n
        }
    }

    /// Everything until the peer closes.
    func readToEOF(what: String = "body", sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            if readIndex < writeIndex {
                try sink(UnsafeRawBufferPointer(rebasing: storage[readIndex..<writeIndex]))
                readIndex = writeIndex
            }
            if try !fill(op: "read \(what)") { return }
        }
    }

    /// A chunked body; returns the trailer fields. `onChunkSize` sees each chunk size as it arrives.
    @discardableResult
    func readChunked(
        what: String = "chunked body", onChunkSize: (Int) -> Void = { _ in },
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> [HTTPField] {
        while true {
            guard let sizeLine = try readLine(limit: 4096, what: "\(what) chunk size") else {
                throw WireError.unexpectedEOF("\(what) chunk size")
            }
            let hex = sizeLine.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(hex, radix: 16), size >= 0 else { throw WireError.malformed("chunk size \(sizeLine.debugDescription)") }
            onChunkSize(size)
            if size == 0 {
                var trailers: [HTTPField] = []
                while true {
                    guard let line = try readLine(what: "\(what) trailer") else { throw WireError.unexpectedEOF("\(what) trailer") }
                    if line.isEmpty { return trailers }
                    if let colon = line.firstIndex(of: ":") {
                        trailers.append(
                            HTTPField(
                                String(line[..<colon]),
                                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
                    }
                }
            }
            try readExact(size, what: what, sink: sink)
            guard let end = try readLine(limit: 16, what: "\(what) chunk end"), end.isEmpty else {
                throw WireError.malformed("\(what): chunk not followed by CRLF")
            }
        }
    }

    /// A body with the given framing; returns trailers (chunked only).
    @discardableResult
    func readBody(_ framing: BodyFraming, what: String = "body", sink: (UnsafeRawBufferPointer) throws -> Void) throws -> [HTTPField] {
        switch framing {
        case .none: return []
        case .contentLength(let n): try readExact(n, what: what, sink: sink); return []
        case .chunked: return try readChunked(what: what, sink: sink)
        case .untilClose: try readToEOF(what: what, sink: sink); return []
        }
    }
}
