// The control plane's handle on one loop: a mailbox of commands (new snapshot, drain) and what the loop reports back.
import Config
import EventLoop
import Synchronization
import TLS

public enum LoopCommand: Sendable {
    /// Serve new requests with this snapshot; requests in flight finish under theirs.
    case install(ProxySnapshot)
    /// Stop accepting, finish what is in flight, close keep-alive connections after their current request.
    case drain
    /// Close the idle pooled connections to these endpoints (a finished canary's pool).
    case closeIdle([HostPort])
    /// Open connections to these endpoints until each has `perEndpoint` idle ones (a canary about to step up).
    case warm([HostPort], perEndpoint: Int)
    /// The loops that share the listeners, this one included (sent once, after every loop started).
    case peers([LoopControl])
    /// Serve a connection another loop accepted on the listener named `listener` (see `AcceptBalance`).
    case adopt(HandedConnection)
}

/// An accepted client socket on its way to another loop; that loop's open-connection count already includes it.
/// It carries the accepting listener's TLS and HTTP/2 settings as they were at accept, so a reload
/// that reaches the receiving loop first cannot serve it with a changed listener's (TLS on or off).
public struct HandedConnection: Sendable {
    let fd: Int32
    let peer: SocketAddress
    let listener: String
    let tls: TLSContext?
    let http2: Bool
}

public final class LoopControl: Sendable {
    public let handle: EventLoopHandle
    private let inbox = Mutex<[LoopCommand]>([])
    /// Client connections open on the loop, counting those handed to it and not yet adopted: the
    /// loop adds and subtracts its own, a peer adds the ones it hands over.
    public let openConnections = Atomic<Int>(0)
    /// Connections this loop accepted and handed to a peer with fewer (`balance: connections`).
    public let handedOver = Atomic<Int>(0)
    /// The generation of the snapshot the loop serves new requests with.
    public let servedGeneration = Atomic<Int>(0)
    /// Body bytes the loop moved with splice(2) (ClientConnection+Splice.swift).
    public let spliced = SplicedBytes()

    init(handle: EventLoopHandle) { self.handle = handle }

    /// Queues `command` and wakes the loop; the mailbox lock is taken only on these rare commands (and a
    /// connection handed over by a peer), never per request.
    public func send(_ command: LoopCommand) {
        inbox.withLock { $0.append(command) }
        handle.wake()
    }

    func takeCommands() -> [LoopCommand] {
        inbox.withLock { commands in
            defer { commands.removeAll() }
            return commands
        }
    }
}
