// The control thread's signal handling: SIGHUP reloads, SIGUSR1 reopens the access log, SIGTERM/SIGINT drain then stop, a second one stops at once.
import CLinuxShims
import EventLoop
import Glibc
import Logging

public final class SignalControl {
    private let fd: Int32
    private var mask = sigset_t()

    /// Blocks `signals` in the calling thread; call before any other thread starts so all inherit the mask
    /// and only the signalfd receives them.
    public init(signals: [Int32] = [SIGHUP, SIGTERM, SIGINT, SIGUSR1]) throws {
        sigemptyset(&mask)
        for s in signals { sigaddset(&mask, s) }
        pthread_sigmask(SIG_BLOCK, &mask, nil)
        fd = signalfd(-1, &mask, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
        guard fd >= 0 else { throw Errno.current }
    }

    deinit { close(fd) }

    /// The signalfd: readable while a signal waits, for a caller's own poll.
    public var descriptor: Int32 { fd }

    /// Waits up to `timeoutMilliseconds` for a signal; nil on timeout, or when `wake` (an eventfd) was poked.
    public func next(timeoutMilliseconds: Int32, wake: Int32? = nil) -> Int32? {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let wake { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
        guard poll(&fds, nfds_t(fds.count), timeoutMilliseconds) > 0 else { return nil }
        if let wake, fds[1].revents != 0 {
            var value: UInt64 = 0
            _ = read(wake, &value, 8)
        }
        guard fds[0].revents != 0 else { return nil }
        var info = signalfd_siginfo()
        let n = read(fd, &info, MemoryLayout<signalfd_siginfo>.size)
        guard n == MemoryLayout<signalfd_siginfo>.size else { return nil }
        return Int32(info.ssi_signo)
    }

    /// Runs the proxy's control loop until it has stopped. Returns the process exit code.
    public func run(_ server: Server, logger: Logger) -> Int32 {
        while true {
            // The control tick: rollouts are judged and stepped every 100 ms, and at once when the fleet's agent
            // brings a new state or an alarm.
            guard let signal = next(timeoutMilliseconds: 100, wake: server.agent?.wakeDescriptor) else {
                server.tickRollouts()
                continue
            }
            switch signal {
            case SIGHUP:
                logger.info("SIGHUP: reloading \(server.state.configPath ?? "")")
                server.reload()
            case SIGUSR1:
                logger.info("SIGUSR1: reopening the access log")
                server.accessLog.reopen()
            case SIGTERM, SIGINT:
                let seconds = server.state.snapshot.config.timeouts.drain
                logger.info("signal \(signal): draining (deadline \(seconds))")
                // No rollout ticks during the drain: a leader hands over now, not when the drain ends.
                server.leaveFleet()
                let deadline = MonotonicClock.nowNanoseconds() &+ seconds.nanoseconds
                var interrupted = false
                let clean = server.drain(until: deadline) {
                    // A second SIGTERM/SIGINT means "now".
                    if let s = next(timeoutMilliseconds: 0), s == SIGTERM || s == SIGINT { interrupted = true }
                    return interrupted
                }
                if interrupted {
                    logger.warning("second signal: stopping at once with \(server.openConnections) connection(s) open")
                    return 1
                }
                if !clean { logger.warning("drain deadline passed with \(server.openConnections) connection(s) open") }
                server.stop()
                logger.info("stopped")
                return 0
            default:
                continue
            }
        }
    }
}
