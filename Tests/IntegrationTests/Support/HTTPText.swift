// HTTP/1.1 vocabulary shared by the test client and the test upstream: fields, request bytes, chunking.

/// One header field as it was on the wire (name case kept; lookups are case-insensitive).
struct HTTPField: Sendable, Equatable, CustomStringConvertible {
    var name: String
    var value: String
    init(_ name: String, _ value: String) { self.name = name; self.value = value }
    var description: String { "\(name): \(value)" }
}

extension Array where Element == HTTPField {
    /// The first value of `name`, case-insensitively.
    subscript(_ name: String) -> String? {
        first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func values(_ name: String) -> [String] {
        filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func has(_ name: String) -> Bool { self[name] != nil }

    /// All values of a list-valued field, split on commas, trimmed and lowercased (e.g. Connection tokens).
    func tokens(_ name: String) -> [String] {
        values(name).flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
    }
}

enum HTTPText {
    /// Builds request bytes. Adds `Host` unless `host` is nil, and `Content-Length` for a non-nil body
    /// unless the headers already frame it.
    static func request(
        _ method: String = "GET", _ target: String = "/", host: String? = "example.test",
        headers: [HTTPField] = [], body: [UInt8]? = nil, version: String = "HTTP/1.1"
    ) -> [UInt8] {
        var head = "\(method) \(target) \(version)\r\n"
        if let host { head += "Host: \(host)\r\n" }
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        let framed = headers.has("content-length") || headers.has("transfer-encoding")
        if let body, !framed { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    static func request(
        _ method: String = "GET", _ target: String = "/", host: String? = "example.test",
        headers: [HTTPField] = [], text: String, version: String = "HTTP/1.1"
    ) -> [UInt8] {
        request(method, target, host: host, headers: headers, body: Array(text.utf8), version: version)
    }

    /// One chunk of a chunked body (`size CRLF data CRLF`).
    static func chunk(_ data: [UInt8]) -> [UInt8] {
        Array(String(data.count, radix: 16).utf8) + [13, 10] + data + [13, 10]
    }

    static func chunkHeader(_ size: Int) -> [UInt8] { Array((String(size, radix: 16) + "\r\n").utf8) }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    /// A whole chunked body: the pieces as chunks, then the last chunk.
    static func chunked(_ pieces: [[UInt8]]) -> [UInt8] {
        pieces.filter { !$0.isEmpty }.flatMap(chunk) + lastChunk
    }

    static func reason(for status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 204: return "No Content"
        case 304: return "Not Modified"
        case 404: return "Not Found"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
