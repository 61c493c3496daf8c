// A kernel pipe that moves bytes between two sockets with splice(2), and the per-loop pool that keeps them.
import CLinuxShims
import Glibc

/// Both ends of a non-blocking pipe. Bytes go socket → pipe (`fill`) and pipe → socket (`drain`)
/// without entering user space: the pipe holds references to the socket's pages, not copies. The
/// caller counts what the pipe holds; a pipe is never polled (it is only ever written by `fill` and
/// read by `drain` on the same thread).
public struct SplicePipe: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    /// SPLICE_F_NONBLOCK: the pipe side never blocks (the sockets are non-blocking already);
    /// SPLICE_F_MOVE: pages are moved rather than copied where the kernel can.
    private static let flags = UInt32(CG_SPLICE_F_MOVE | CG_SPLICE_F_NONBLOCK)

    /// A new pipe (pipe2 with O_NONBLOCK | O_CLOEXEC), resized to `capacity` bytes when that is not
    /// the kernel's default. A refused resize (over /proc/sys/fs/pipe-max-size, or the user's pipe
    /// pages spent) keeps the default size: the pipe works, it only moves less per call.
    public static func open(capacity: Int) throws(Errno) -> SplicePipe {
        var ends: (Int32, Int32) = (-1, -1)
        _ = try withUnsafeMutablePointer(to: &ends) { (p) throws(Errno) -> Int32 in
            try p.withMemoryRebound(to: Int32.self, capacity: 2) { (fds) throws(Errno) -> Int32 in
                try checkedSyscall { pipe2(fds, O_NONBLOCK | O_CLOEXEC) }
            }
        }
        let pipe = SplicePipe(readEnd: ends.0, writeEnd: ends.1)
        if capacity != defaultCapacity { _ = cg_fcntl_int(pipe.writeEnd, CG_F_SETPIPE_SZ, Int32(capacity)) }
        return pipe
    }

    /// A pipe's size when nobody resizes it (16 pages).
    public static let defaultCapacity = 64 * 1024

    private init(readEnd: Int32, writeEnd: Int32) {
        self.readEnd = readEnd
        self.writeEnd = writeEnd
    }

    /// The pipe's size in bytes (F_GETPIPE_SZ).
    public var capacity: Int { Int(cg_fcntl_int(writeEnd, CG_F_GETPIPE_SZ, 0)) }

    /// Moves up to `count` bytes from `source` into the pipe. `.value(0)`: the source's end of stream.
    /// `.wouldBlock`: nothing to read now — or, when the pipe already holds bytes, no room in it: callers
    /// that must tell the two apart fill only an empty pipe.
    @inline(__always)
    public func fill(from source: SocketDescriptor, count: Int) throws(Errno) -> IOResult<Int> {
        try retryingSyscall { cg_splice(source.raw, writeEnd, count, Self.flags) }
    }

    /// Moves up to `count` of the bytes the pipe holds to `destination`. `.wouldBlock`: the destination
    /// is full. A short count also means the destination filled up.
    @inline(__always)
    public func drain(to destination: SocketDescriptor, count: Int) throws(Errno) -> IOResult<Int> {
        try retryingSyscall { cg_splice(readEnd, destination.raw, count, Self.flags) }
    }

    public func close() {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }
}

/// One loop's empty pipes, so that a body does not cost a pipe2 and two closes. A pipe goes back only
/// empty (bytes left in it belong to an exchange that failed: such a pipe is closed); beyond `limit`
/// idle pipes, one given back is closed. Used by its loop's thread only.
public final class SplicePipePool {
    /// The size pipes are opened with (see `SplicePipe.open`).
    public let pipeCapacity: Int
    private var idle: [SplicePipe] = []
    private let limit: Int
    /// The fewest idle pipes since the last trim: that many went untaken the whole period.
    private var unusedSinceTrim = 0

    public init(pipeCapacity: Int = SplicePipe.defaultCapacity, limit: Int = 64) {
        self.pipeCapacity = pipeCapacity
        self.limit = limit
        idle.reserveCapacity(limit)
        _ = Self.sigpipeIgnored
    }

    /// A splice into a socket whose peer is gone raises SIGPIPE, which would end the process: splice has
    /// no MSG_NOSIGNAL (the proxy's sends have it). Ignored process-wide, once, by the first pool, so the
    /// splice fails with EPIPE like a send; hooks still start with every signal at its default (HookExec).
    private static let sigpipeIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    deinit { for pipe in idle { pipe.close() } }

    /// An empty pipe: a pooled one, or a new one. Throws what pipe2 failed with (EMFILE, ENFILE…).
    public func take() throws(Errno) -> SplicePipe {
        if let pipe = idle.popLast() {
            if idle.count < unusedSinceTrim { unusedSinceTrim = idle.count }
            return pipe
        }
        return try SplicePipe.open(capacity: pipeCapacity)
    }

    /// Takes back `pipe`: kept if it is `empty` and there is room, else closed.
    public func give(_ pipe: SplicePipe, empty: Bool) {
        if empty && idle.count < limit {
            idle.append(pipe)
        } else {
            pipe.close()
        }
    }

    /// Idle pipes held now.
    public var idleCount: Int { idle.count }

    /// Closes the idle pipes none of the takes since the previous trim reached (the coldest), so a
    /// burst's pipes do not hold two descriptors each for good; returns how many were closed.
    @discardableResult
    public func trim() -> Int {
        let unused = unusedSinceTrim
        for pipe in idle.prefix(unused) { pipe.close() }
        idle.removeFirst(unused)
        unusedSinceTrim = idle.count
        return unused
    }
}
