// A loopback TCP relay between one replica and etcd that a test cuts, blackholes and heals: a partition of that replica.
import CLinuxShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The replica is configured with the relay's `url` instead of etcd's, so only its traffic crosses it;
/// the other replicas talk to etcd directly.
///
/// - `cut()`: every open connection is closed with a reset and the port stops listening, so new
///   connects are refused: the replica's network to etcd is gone, and it learns so at once.
/// - `blackhole()`: every connection stays open and nothing is forwarded or accepted (connects still
///   complete in the kernel's backlog): packets are dropped, and the replica learns only by its deadlines.
/// - `heal()`: forwarding again (on the same port, listening again after a cut).
///
/// One thread owns every socket; the test's calls hand it the mode and wait (bounded) until it has
/// applied it, so a call returns only once the partition (or the heal) is in place, and no descriptor
/// is ever closed under the thread's feet.
final class TCPRelay: @unchecked Sendable {
    enum Mode: Equatable, Sendable { case forwarding, cut, blackholed }

    enum RelayError: Error, CustomStringConvertible {
        case modeNotApplied(Mode, String)
        var description: String {
            switch self {
            case .modeNotApplied(let mode, let why): return "the relay did not reach \(mode): \(why)"
            }
        }
    }

    /// Where the replica connects.
    let port: UInt16
    /// Where the relay connects (etcd's client port).
    let targetPort: UInt16
    var url: String { "http://127.0.0.1:\(port)" }

    private struct Control {
        var requested = Mode.forwarding
        var applied = Mode.forwarding
        /// Why the last transition failed (re-listening on the port after a cut), until one succeeds.
        var failure: String?
        var stopping = false
        var connectionsAccepted = 0
        var connectionsOpen = 0
    }

    private let control = Guarded(Control())
    private let finished = DispatchSemaphore(value: 0)
    // The relay thread's own, never touched by the test's thread.
    private var listener: Int32
    private var links: [Link] = []
    private var current = Mode.forwarding

    /// One client connection and its connection to the target, with what each side has not yet taken.
    private final class Link {
        let client: Int32
        let upstream: Int32
        var toUpstream: [UInt8] = []
        var toClient: [UInt8] = []
        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
        }
    }

    /// Listens on a free loopback port and forwards each connection to 127.0.0.1:`targetPort`.
    init(to targetPort: UInt16) throws {
        self.targetPort = targetPort
        (listener, port) = try Posix.listen()
        Self.setNonBlocking(listener)
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "tcp-relay-\(port)"
        thread.start()
    }

    func cut() throws { try set(.cut) }
    func blackhole() throws { try set(.blackholed) }
    func heal() throws { try set(.forwarding) }

    /// Connections accepted since the relay started, and those open now (for reports on failed assertions).
    var connections: (accepted: Int, open: Int) { control.withValue { ($0.connectionsAccepted, $0.connectionsOpen) } }

    /// Closes everything and ends the thread (bounded). Idempotent.
    func stop() {
        let first = control.withValue { c -> Bool in
            defer { c.stopping = true }
            return !c.stopping
        }
        if first { _ = finished.wait(timeout: .now() + 3) }
    }

    private func set(_ mode: Mode) throws {
        control.withValue {
            $0.requested = mode
            $0.failure = nil
        }
        var failure: String?
        let applied = Posix.waitUntil(timeout: 3) {
            let c = control.value
            failure = c.failure
            return c.applied == mode || c.failure != nil
        }
        if let failure { throw RelayError.modeNotApplied(mode, failure) }
        if !applied { throw RelayError.modeNotApplied(mode, "the relay thread did not answer within 3 s") }
    }

    // MARK: - the relay thread

    private func run() {
        while true {
            let (mode, stopping) = control.withValue { ($0.requested, $0.stopping) }
            if stopping { break }
            if mode != current {
                do {
                    try enter(mode)
                    control.withValue { $0.applied = mode }
                } catch {
                    control.withValue { $0.failure = "\(error)" }
                }
            }
            if current == .forwarding {
                relayOnce()
            } else {
                usleep(10_000)
            }
        }
        closeLinks()
        if listener >= 0 { close(listener) }
    }

    /// Leaves the current mode for `mode`: a cut drops every link and the listener; leaving a cut listens again.
    private func enter(_ mode: Mode) throws {
        if mode == .cut {
            closeLinks()
            if listener >= 0 { close(listener) }
            listener = -1
        } else if listener < 0 {
            listener = try listenAgain()
        }
        current = mode
    }

    /// The port was ours a moment ago; SO_REUSEADDR lets it be bound again at once, a brief retry covers the rest.
    private func listenAgain() throws -> Int32 {
        let deadline = Date().addingTimeInterval(1)
        while true {
            do {
                let (fd, _) = try Posix.listen(port: port)
                Self.setNonBlocking(fd)
                return fd
            } catch  where Date() < deadline {
                usleep(20_000)
            }
        }
    }

    /// One poll (at most 10 ms, so a mode change is seen promptly): accepts, reads what a side sent
    /// while the other side has taken everything before it, writes what is pending.
    private func relayOnce() {
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        for link in links {
            fds.append(pollfd(fd: link.client, events: Self.events(reading: link.toUpstream, writing: link.toClient), revents: 0))
            fds.append(pollfd(fd: link.upstream, events: Self.events(reading: link.toClient, writing: link.toUpstream), revents: 0))
        }
        guard poll(&fds, nfds_t(fds.count), 10) > 0 else { return }
        var broken = Set<Int>()
        for (index, link) in links.enumerated() {
            let clientReady = fds[1 + 2 * index].revents, upstreamReady = fds[2 + 2 * index].revents
            let ok =
                Self.pump(from: link.client, ready: clientReady, into: &link.toUpstream)
                && Self.pump(from: link.upstream, ready: upstreamReady, into: &link.toClient)
                && Self.flush(&link.toUpstream, to: link.upstream) && Self.flush(&link.toClient, to: link.client)
            if !ok { broken.insert(index) }
        }
        for index in broken.sorted(by: >) {
            close(links[index].client)
            close(links[index].upstream)
            links.remove(at: index)
        }
        if fds[0].revents != 0 { acceptAll() }
        control.withValue { $0.connectionsOpen = links.count }
    }

    /// Reading a side only while the other has taken everything it sent before: backpressure, bounded memory.
    private static func events(reading pending: [UInt8], writing outgoing: [UInt8]) -> Int16 {
        (pending.isEmpty ? Int16(POLLIN) : 0) | (outgoing.isEmpty ? 0 : Int16(POLLOUT))
    }

    /// Reads what `fd` has into `buffer`; false at end of stream or on an error (the link is then closed).
    private static func pump(from fd: Int32, ready: Int16, into buffer: inout [UInt8]) -> Bool {
        guard ready & Int16(POLLIN | POLLHUP | POLLERR) != 0, buffer.isEmpty else { return true }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n > 0 {
            buffer = Array(chunk[..<n])
            return true
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR)
    }

    /// Writes as much of `buffer` as `fd` takes now; false when the peer is gone.
    private static func flush(_ buffer: inout [UInt8], to fd: Int32) -> Bool {
        guard !buffer.isEmpty else { return true }
        let n = buffer.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        if n > 0 {
            buffer.removeFirst(n)
            return true
        }
        return n < 0 && (errno == EAGAIN || errno == EINTR)
    }

    /// Accepts every waiting connection and connects each to the target; one the target refuses is reset.
    private func acceptAll() {
        while true {
            // Close-on-exec from the start: a replica the test spawns meanwhile would inherit the descriptor, and its
            // copy would keep the connection open through a cut.
            let client = accept4(listener, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if client < 0 { return }
            Posix.setNoDelay(client)
            control.withValue { $0.connectionsAccepted += 1 }
            guard let upstream = try? Posix.connect(port: targetPort, timeout: 0.5) else {
                Posix.resetClose(client)
                continue
            }
            Self.setNonBlocking(upstream)
            links.append(Link(client: client, upstream: upstream))
        }
    }

    /// Resets both sides of every link: each peer sees its connection fail at once, as when a network is cut.
    private func closeLinks() {
        for link in links {
            Posix.resetClose(link.client)
            Posix.resetClose(link.upstream)
        }
        links = []
        control.withValue { $0.connectionsOpen = 0 }
    }

    private static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }
}
