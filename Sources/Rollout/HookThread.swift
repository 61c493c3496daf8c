// A detached POSIX thread for one hook (or an etcd watch), started with the control thread's signals blocked.
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

/// Why not Foundation's Thread: the signals that the control thread takes through signalfd (SIGHUP,
/// SIGTERM, SIGINT) must stay blocked in *every* thread, or the kernel may deliver a process-directed
/// SIGTERM to a hook thread and kill the proxy with the default action. A new thread inherits its
/// creator's mask, so the mask is widened around pthread_create and restored after: there is no window
/// in which the new thread runs with them unblocked, whichever thread calls `start`.
package enum HookThread {
    /// The signals the control thread reads from its signalfd.
    package static var controlSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGHUP)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }

    /// Starts `body` on a new detached thread; false (and `body` not run) when the thread cannot be created.
    package static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        var block = controlSignals
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &block, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        guard case .success(let thread) = LoopThread.start(body) else { return false }
        thread.detach()
        return true
    }
}
