// A bearer token of the admin API, read from the file the config names, so the secret never sits in the YAML.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct AdminToken: Sendable, Equatable, CustomStringConvertible {
    /// The file as written in the config; a relative path is relative to the proxy's working directory.
    public var file: String
    public var bytes: [UInt8]

    public init(file: String, bytes: [UInt8]) { self.file = file; self.bytes = bytes }

    /// Never the secret itself: configs end up in logs and error messages.
    public var description: String { "the token in \(file)" }

    /// Shorter tokens can be guessed; `openssl rand -hex 32` makes a 64-character one.
    public static let minimumLength = 16
    /// A token is one line; a bigger file is the wrong file.
    static let maximumFileBytes = 4096

    public struct Unusable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads `file`: one line of visible ASCII (surrounding whitespace and the final newline are dropped),
    /// at least `minimumLength` characters, as sent after `Authorization: Bearer `.
    public static func read(file: String) throws(Unusable) -> AdminToken {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Unusable(description: "cannot read \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: maximumFileBytes + 1)
        while content.count <= maximumFileBytes {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw Unusable(description: "cannot read \(file): \(String(cString: strerror(errno)))")
            }
            content.append(contentsOf: chunk[..<count])
        }
        guard content.count <= maximumFileBytes else {
            throw Unusable(description: "\(file) is larger than \(maximumFileBytes) bytes; it should hold one token")
        }
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        let token = Array(content.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
        guard !token.isEmpty else { throw Unusable(description: "\(file) is empty") }
        guard token.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw Unusable(description: "\(file) must hold one token of visible ASCII characters (no spaces, no second line)")
        }
        guard token.count >= minimumLength else {
            throw Unusable(description: "the token in \(file) has \(token.count) characters; use at least \(minimumLength)")
        }
        return AdminToken(file: file, bytes: token)
    }

    /// Compares in time that depends on the lengths only, never on where the first difference is,
    /// so a client cannot find the token a byte at a time by timing refusals.
    public func matches(_ candidate: ArraySlice<UInt8>) -> Bool { Self.constantTimeEqual(bytes[...], candidate) }

    /// Whether `a` and `b` are equal, in time that depends on their lengths only: for secrets and MACs.
    public static func constantTimeEqual(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        var difference = UInt(bitPattern: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            let left = i < a.count ? a[a.startIndex + i] : 0
            let right = i < b.count ? b[b.startIndex + i] : 0
            difference |= UInt(left ^ right)
        }
        return difference == 0
    }
}

extension ConfigNode {
    /// A path to a token file, read now: `validate` and a reload report a missing or empty file at its line.
    func adminTokenFile() -> AdminToken? {
        guard let path = nonEmptyString() else { return nil }
        do { return try AdminToken.read(file: path) } catch {
            report(error.description)
            return nil
        }
    }
}
