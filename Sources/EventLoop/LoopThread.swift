// Starts a named OS thread running a closure: event loops are created on, and never leave, their own thread.
import Glibc

private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

public struct LoopThread: Sendable {
    private let thread: pthread_t

    /// Spawns a joinable thread.
    public static func spawn(_ body: @escaping @Sendable () -> Void) -> LoopThread {
        switch start(body) {
        case .success(let thread): return thread
        case .failure(let error): preconditionFailure("pthread_create failed: \(error.rawValue)")
        }
    }

    /// Spawns a joinable thread, or returns pthread_create's error (the thread could not be created: `body` never runs).
    public static func start(_ body: @escaping @Sendable () -> Void) -> Result<LoopThread, Errno> {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        guard rc == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            return .failure(Errno(rc))
        }
        return .success(LoopThread(thread: thread))
    }

    public func join() { pthread_join(thread, nil) }
}

extension LoopThread {
    /// Lets the thread run on without anyone joining it (short-lived helper threads).
    public func detach() { pthread_detach(thread) }
}
