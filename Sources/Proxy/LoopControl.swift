// The control plane's handle on one loop: a mailbox of commands (new snapshot, drain) and what the loop reports back.
import Config
import EventLoop
import Synchronization

public enum LoopCommand: Sendable {
    /// Serve new requests with this snapshot; requests in flight finish under theirs.
    case install(ProxySnapshot)
    /// Stop accepting, finish what is in flight, close keep-alive connections after their current request.
    case drain
    /// Close the idle pooled connections to these endpoints (a finished canary's pool).
    case closeIdle([HostPort])
}

public final class LoopControl: Sendable {
    public let handle: EventLoopHandle
    private let inbox = Mutex<[LoopCommand]>([])
    /// Client connections open on the loop (written only by the loop).
    public let openConnections = Atomic<Int>(0)
    /// The generation of the snapshot the loop serves new requests with.
    public let servedGeneration = Atomic<Int>(0)

    init(handle: EventLoopHandle) { self.handle = handle }

    /// Queues `command` and wakes the loop; the mailbox lock is taken only on these rare commands, never per request.
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
