// One descriptor held in reserve, given up to accept a connection when the process has run out (EMFILE/ENFILE).
import Glibc

/// A listener's accept fails with EMFILE or ENFILE while the pending connection stays in the backlog,
/// and a level-triggered poll reports it again at once: without help the thread spins. Holding one
/// descriptor (on /dev/null) and closing it to make room lets the accept succeed; the caller serves
/// the connection (or just closes it) and calls `restore()` once it is closed, so the spare is taken
/// back before anything else can use the freed number (`restore()` retries on later calls while the
/// process is still out of descriptors). Used by one thread.
public final class SpareDescriptor {
    private var fd: Int32

    public init() { fd = open("/dev/null", O_RDONLY | O_CLOEXEC) }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Whether the spare is held (it is lost when another thread took the freed number first).
    public var isHeld: Bool { fd >= 0 }

    /// Accepts on `listener`, spending the spare if the process is out of descriptors. Still throws
    /// EMFILE/ENFILE when the spare is spent: the caller must then wait before trying again.
    public func accept(on listener: SocketDescriptor, peer: inout SocketAddress?) throws(Errno) -> IOResult<SocketDescriptor> {
        do {
            return try listener.accept(peer: &peer)
        } catch let error where error.isDescriptorShortage && fd >= 0 {
            Glibc.close(fd)
            fd = -1
            return try listener.accept(peer: &peer)
        }
    }

    /// Takes the spare back after the connection accepted with it was closed.
    public func restore() {
        if fd < 0 { fd = open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }
}
