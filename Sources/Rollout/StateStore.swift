// The rollout state file: bytes saved atomically and durably (temp file, fsync, rename, fsync dir), loaded at start.
#if canImport(Glibc)
import Glibc
#endif

/// Bytes, not rollout types, so the file format is the controller's business (a JSON document of
/// every route's `RolloutState`). After `save` returns, a crash or `kill -9` at any moment leaves the
/// file holding either the previous document or the new one, never a mix or nothing:
/// the new bytes are made durable in a temporary file before `rename` swaps it in atomically, and the
/// directory is fsynced so that the rename itself survives a power loss.
///
/// Saves are meant to come from one thread (the control thread): two concurrent saves to the same
/// path from one process would share the temporary file's name.
public struct StateStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The temporary file: beside the target, so the rename stays within one file system.
    var temporaryPath: String { "\(path).tmp-\(getpid())" }

    /// Replaces the file's content with `data`, atomically and durably; creates missing directories.
    public func save(_ data: [UInt8]) throws {
        let directory = Self.parentDirectory(of: path)
        try Self.makeDirectories(directory)

        let temporary = temporaryPath
        let fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
        if fd < 0 { throw StateStoreError("create", temporary, errno) }
        do {
            try Self.writeAll(data, to: fd, path: temporary)
            if fsync(fd) != 0 { throw StateStoreError("fsync", temporary, errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        if close(fd) != 0 {
            let code = errno
            unlink(temporary)
            throw StateStoreError("close", temporary, code)
        }
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw StateStoreError("rename to \(path)", temporary, code)
        }
        try Self.syncDirectory(directory)
    }

    /// The file's content; nil when there is no file (a first start).
    public func load() throws -> [UInt8]? {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StateStoreError("open", path, errno)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n == 0 { return bytes }
            if errno == EINTR { continue }
            throw StateStoreError("read", path, errno)
        }
    }

    // MARK: - Steps

    private static func writeAll(_ data: [UInt8], to fd: Int32, path: String) throws {
        var written = 0
        while written < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n > 0 { written += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw StateStoreError("write", path, n < 0 ? errno : EIO)
        }
    }

    /// fsync of the directory: what makes the rename's new directory entry durable.
    private static func syncDirectory(_ directory: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw StateStoreError("open directory", directory, errno) }
        defer { close(fd) }
        // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as they allow.
        if fsync(fd) != 0 && errno != EINVAL { throw StateStoreError("fsync directory", directory, errno) }
    }

    /// `mkdir -p`: each missing component is created (0755); one that already exists is fine.
    static func makeDirectories(_ directory: String) throws {
        var info = stat()
        if stat(directory, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { return }
            throw StateStoreError("create directory", directory, ENOTDIR)
        }
        let parent = parentDirectory(of: directory)
        if parent != directory { try makeDirectories(parent) }
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw StateStoreError("create directory", directory, errno)
        }
    }

    /// The directory part of `path`: "." for a bare file name, "/" for a file at the root.
    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }
}

/// A failed state-file operation: what was being done, to which path, and the system's reason.
public struct StateStoreError: Error, CustomStringConvertible, Equatable {
    public var operation: String
    public var path: String
    public var code: Int32

    init(_ operation: String, _ path: String, _ code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// e.g. "state file: create directory /etc/passwd/x: Not a directory".
    public var description: String {
        "state file: \(operation) \(path): \(String(cString: strerror(code)))"
    }
}
