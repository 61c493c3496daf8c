// The loop of `canarygate status --watch`: polls /status and /timeline, draws the view (or plain lines), restores the terminal.
import ArgumentParser
import Canarygate
import Foundation
import Glibc

struct StatusWatch {
    let target: AdminTarget
    /// Between polls, in seconds.
    let interval: Double

    private static let escape = "\u{1B}["

    /// Each wait of a request (connect, send, receive). Signals do not wait for it (they interrupt a request at
    /// once); it decides how soon an admin API that hangs or drops packets is shown as a problem. Not tied to
    /// `interval`: at 100 ms a merely busy admin API would be reported as broken.
    static let requestTimeoutMilliseconds: Int32 = 2_000

    func run() throws {
        let (address, token) = try target.resolve()
        let terminal = isatty(STDOUT_FILENO) == 1
        // Taken through a signalfd, which the requests poll beside their socket: a signal ends a request waiting on
        // the admin API at once, and the terminal is restored here, on the main thread. Every signal a terminal
        // sends on a key is among them (Ctrl-C, Ctrl-\, Ctrl-Z), so none leaves the alternate screen behind.
        let signals = try SignalControl(signals: [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGWINCH])
        if terminal { enterScreen() }
        defer { if terminal { leaveScreen() } }

        var state = WatchState()
        var plain = WatchPlainLog()
        while true {
            poll(&state, address: address, token: token, interrupt: signals.descriptor)
            let now = Date().timeIntervalSince1970
            if terminal {
                let (width, height) = Self.size()
                let lines = WatchScreen.render(state, target: address, now: now, width: width, height: height)
                // Home, each line cleared to its end, the rest of the screen cleared: no flicker, no leftovers.
                write(Self.escape + "H" + lines.map { $0 + Self.escape + "K" }.joined(separator: "\r\n") + Self.escape + "J")
            } else {
                for line in plain.lines(state, now: now) { write(line + "\n") }
            }
            // A timeout is the next poll; a resize redraws at once (with a fresh poll); Ctrl-Z suspends; anything else
            // ends the watch.
            switch signals.next(timeoutMilliseconds: Int32(min(interval * 1000, Double(Int32.max)))) {
            case nil, SIGWINCH: continue
            case SIGTSTP: suspend(terminal: terminal)
            default: return
            }
        }
    }

    /// Ctrl-Z: the normal screen back, then stopped by SIGTSTP's own default action (so a shell reports the job
    /// as stopped, as for any program), and on `fg` the view again, redrawn by the next poll. Rather than quit:
    /// Ctrl-Z means "later", and a watch that quits on it would lose the history it has kept.
    private func suspend(terminal: Bool) {
        if terminal { leaveScreen() }
        var stop = sigset_t()
        sigemptyset(&stop)
        sigaddset(&stop, SIGTSTP)
        // Raised while blocked it waits; unblocked, it is delivered before pthread_sigmask returns.
        raise(SIGTSTP)
        pthread_sigmask(SIG_UNBLOCK, &stop, nil)
        pthread_sigmask(SIG_BLOCK, &stop, nil)
        if terminal { enterScreen() }
    }

    /// The alternate screen keeps the user's scrollback as it was; the cursor is hidden while drawing.
    private func enterScreen() { write(Self.escape + "?1049h" + Self.escape + "?25l") }

    private func leaveScreen() { write(Self.escape + "0m" + Self.escape + "?25h" + Self.escape + "?1049l") }

    /// Fetches /status then /timeline. A signal (`interrupt` readable) abandons the poll and leaves the state
    /// as it was: the caller takes the signal next.
    private func poll(_ state: inout WatchState, address: String, token: String?, interrupt: Int32) {
        do {
            try state.absorb(status: try fetch("/status", address: address, token: token, interrupt: interrupt))
            let timeline = "/timeline" + (state.since.map { "?since=\($0)" } ?? "")
            try state.absorb(timeline: try fetch(timeline, address: address, token: token, interrupt: interrupt))
            state.problem = nil
        } catch is AdminClient.Interrupted {
            return
        } catch {
            state.problem = "\(error)"
        }
    }

    private struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    private func fetch(_ path: String, address: String, token: String?, interrupt: Int32) throws -> String {
        let (status, body) = try AdminClient.request(
            "GET", address: address, path: path, token: token, timeoutMilliseconds: Self.requestTimeoutMilliseconds,
            interruptedBy: interrupt)
        guard status == 200 else {
            throw Refused(description: "GET \(path): \(status) \(body.split(separator: "\n").first ?? "")")
        }
        return body
    }

    /// The terminal's columns and rows (80×24 when it cannot say).
    private static func size() -> (width: Int, height: Int) {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return (80, 24) }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }
}
