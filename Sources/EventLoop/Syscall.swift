// The one place that turns a raw syscall result into a value: EINTR retried, EAGAIN as `.wouldBlock`, other errno thrown.
import CLinuxShims
import Glibc

/// An errno value, typed so callers can match on the cases that matter to them.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static var current: Errno { Errno(cg_errno()) }
    public static let interrupted = Errno(EINTR)
    public static let wouldBlock = Errno(EAGAIN)
    public static let inProgress = Errno(EINPROGRESS)
    public static let connectionRefused = Errno(ECONNREFUSED)
    public static let connectionReset = Errno(ECONNRESET)
    public static let brokenPipe = Errno(EPIPE)
    public static let timedOut = Errno(ETIMEDOUT)
    public static let tooManyOpenFiles = Errno(EMFILE)
    public static let fileTableOverflow = Errno(ENFILE)
    public static let noBuffers = Errno(ENOBUFS)
    public static let noMemory = Errno(ENOMEM)

    public var description: String {
        guard let text = strerror(rawValue) else { return "errno \(rawValue)" }
        return String(cString: text)
    }

    /// EMFILE (this process) or ENFILE (the whole system): no descriptor for a new socket.
    public var isDescriptorShortage: Bool { self == .tooManyOpenFiles || self == .fileTableOverflow }
}

/// Outcome of a non-blocking operation: a value, or "try again when the fd is ready".
public enum IOResult<Value>: Sendable where Value: Sendable {
    case value(Value)
    case wouldBlock
}

/// Runs `body` until it stops failing with EINTR. EAGAIN/EWOULDBLOCK become `.wouldBlock`;
/// any other failure (a negative result) is thrown as `Errno`.
@inline(__always)
public func retryingSyscall<T: FixedWidthInteger & Sendable>(_ body: () -> T) throws(Errno) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .value(result) }
        let err = cg_errno()
        if err == EINTR { continue }
        if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
        throw Errno(err)
    }
}

/// For calls that never legitimately return EAGAIN (setup calls): a value or a thrown `Errno`.
@inline(__always)
public func checkedSyscall<T: FixedWidthInteger & Sendable>(_ body: () -> T) throws(Errno) -> T {
    switch try retryingSyscall(body) {
    case .value(let v): return v
    case .wouldBlock: throw Errno.wouldBlock
    }
}
