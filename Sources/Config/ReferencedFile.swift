// Reads a small file the config names (a webhook's header secret or CA bundle) while the config is decoded.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decoding runs at start and at every reload, so reading here makes a missing or unreadable file
/// refuse the config with the field and line that name it, and makes a reload pick up new contents.
enum ReferencedFile {
    struct Unreadable: Error {
        /// "no such file", "Permission denied", "is larger than 8192 bytes": never the contents.
        var reason: String
    }

    /// The whole file, refused when it is larger than `limit` bytes.
    static func contents(of path: String, limit: Int) -> Result<[UInt8], Unreadable> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Unreadable(reason: describe(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return .success(bytes) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(Unreadable(reason: describe(errno)))
            }
            bytes.append(contentsOf: chunk[..<count])
            if bytes.count > limit { return .failure(Unreadable(reason: "is larger than \(limit) bytes")) }
        }
    }

    private static func describe(_ error: Int32) -> String {
        switch error {
        case ENOENT: "no such file"
        case EISDIR: "is a directory"
        default: String(cString: strerror(error))
        }
    }
}
