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
/// The file holds which revisions were rolled back, so whoever can replace it can make the proxy send
/// traffic to one again; and whoever can plant a name in its directory could once make a save write
/// through a symlink. So the directory must be writable by its owner only (`checkDirectory`, at start,
/// at reload and at every save), the temporary file is created exclusively under a random name that
/// no link can pre-empt (`O_CREAT | O_EXCL | O_NOFOLLOW`), every step works relative to the directory
/// opened once, and the file is 0600: its messages name revisions, hooks and verdicts.
public struct StateStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The prefix of the temporary files' names: hidden, beside the target (the rename stays within one file system).
    var temporaryPrefix: String { ".\(Self.fileName(of: path)).tmp-" }

    /// Replaces the file's content with `data`, atomically and durably; creates missing directories.
    public func save(_ data: [UInt8]) throws {
        let directory = Self.parentDirectory(of: path)
        try Self.makeDirectories(directory)
        var directoryFD: Int32
        repeat { directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } while directoryFD < 0 && errno == EINTR
        if directoryFD < 0 { throw StateStoreError("open directory", directory, errno) }
        defer { close(directoryFD) }
        // Checked on the descriptor every later step goes through, so a directory swapped in after the
        // check is not the one written to.
        var info = stat()
        if fstat(directoryFD, &info) != 0 { throw StateStoreError("stat directory", directory, errno) }
        if let problem = Self.unsafeDirectoryProblem(info) { throw StateDirectoryError(path: path, directory: directory, problem: problem) }

        let (fd, temporary) = try createTemporary(in: directoryFD, directory: directory)
        do {
            try Self.writeAll(data, to: fd, path: temporary)
            if fsync(fd) != 0 { throw StateStoreError("fsync", temporary, errno) }
        } catch {
            close(fd)
            unlinkat(directoryFD, temporary, 0)
            throw error
        }
        if close(fd) != 0 {
            let code = errno
            unlinkat(directoryFD, temporary, 0)
            throw StateStoreError("close", temporary, code)
        }
        // rename replaces a symlink at the target rather than following it.
        if renameat(directoryFD, temporary, directoryFD, Self.fileName(of: path)) != 0 {
            let code = errno
            unlinkat(directoryFD, temporary, 0)
            throw StateStoreError("rename to \(path)", temporary, code)
        }
        // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as they allow.
        if fsync(directoryFD) != 0 && errno != EINVAL { throw StateStoreError("fsync directory", directory, errno) }
    }

    /// A new, empty temporary file (0600) under a random name; its descriptor and name (relative to the directory).
    private func createTemporary(in directoryFD: Int32, directory: String) throws -> (Int32, String) {
        // 64 random bits: a name collides only with a file planted there, and then the next name is tried.
        for _ in 0..<16 {
            let name = temporaryPrefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            var fd: Int32
            repeat {
                fd = openat(directoryFD, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0o600)
            } while fd < 0 && errno == EINTR
            if fd >= 0 { return (fd, name) }
            if errno != EEXIST { throw StateStoreError("create", "\(directory)/\(name)", errno) }
        }
        throw StateStoreError("create a temporary file in", directory, EEXIST)
    }

    /// Refuses a state directory (or, while it does not exist yet, the nearest existing ancestor, where
    /// it will be created) that a user other than root and the proxy's own could write to.
    public func checkDirectory() throws(StateDirectoryError) {
        var directory = Self.parentDirectory(of: path)
        var info = stat()
        while stat(directory, &info) != 0 {
            let code = errno
            let parent = Self.parentDirectory(of: directory)
            if code != ENOENT || parent == directory {
                throw StateDirectoryError(
                    path: path, directory: directory, problem: "cannot be examined: \(String(cString: strerror(code)))")
            }
            directory = parent
        }
        if let problem = Self.unsafeDirectoryProblem(info) {
            throw StateDirectoryError(path: path, directory: directory, problem: problem)
        }
    }

    /// Why a directory is unsafe for the state file, or nil. Group- or world-writable is refused even with
    /// the sticky bit: the sticky bit stops others from removing our files, not from planting the state
    /// file's name before a first start (the proxy would then load their rollout history) nor from
    /// filling the directory. Owned by someone else, its owner can do anything there. (OpenSSH's
    /// StrictModes judges a user's files the same way.)
    static func unsafeDirectoryProblem(_ info: stat) -> String? {
        let mode = info.st_mode & 0o7777
        let shown = String(mode, radix: 8)
        if info.st_mode & S_IFMT != S_IFDIR { return "is not a directory" }
        if info.st_uid != 0 && info.st_uid != geteuid() {
            return "is owned by uid \(info.st_uid), neither root nor this proxy's uid \(geteuid())"
        }
        if mode & (S_IWGRP | S_IWOTH) != 0 {
            return "is writable by \(mode & S_IWOTH != 0 ? "every user" : "its group") (mode \(shown))"
        }
        return nil
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

    /// Moves an unreadable state file aside, under `<path>.corrupt-<UTC time>`, never replacing a file of that
    /// name (a hard link, then the old name removed), so the next save cannot overwrite the evidence.
    /// Returns the new path.
    public func setAside(unixTime: Int) throws -> String {
        var time = time_t(unixTime)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let stamp =
            "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
        for attempt in 0..<100 {
            let aside = "\(path).corrupt-\(stamp)" + (attempt == 0 ? "" : "-\(attempt)")
            if link(path, aside) == 0 {
                if unlink(path) != 0 { throw StateStoreError("remove (kept as \(aside))", path, errno) }
                return aside
            }
            if errno != EEXIST { throw StateStoreError("keep aside as \(aside)", path, errno) }
        }
        throw StateStoreError("keep aside", path, EEXIST)
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

    /// The last component of `path`.
    static func fileName(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
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

/// A state directory others could write to: refused at start and at reload, naming the config field.
public struct StateDirectoryError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var directory: String
    public var problem: String

    /// e.g. "state.path: /srv/shared/state.json: its directory /srv/shared is writable by every user (mode 1777); …".
    public var description: String {
        "state.path: \(path): its directory \(directory) \(problem); another user could replace the rollout state "
            + "or plant links there. Use a directory owned by root or this proxy's user, writable by its owner only (chmod go-w)"
    }
}
