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

    func run() throws {
        let (address, token) = try target.resolve()
        let terminal = isatty(STDOUT_FILENO) == 1
        // Taken synchronously by `sigtimedwait` between polls, so the terminal is restored on the main thread.
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGWINCH] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        // The alternate screen keeps the user's scrollback as it was; the cursor is hidden while drawing.
        if terminal { write(Self.escape + "?1049h" + Self.escape + "?25l") }
        defer { if terminal { write(Self.escape + "0m" + Self.escape + "?25h" + Self.escape + "?1049l") } }

        var state = WatchState()
        var plain = WatchPlainLog()
        while true {
            poll(&state, address: address, token: token)
            let now = Date().timeIntervalSince1970
            if terminal {
                let (width, height) = Self.size()
                let lines = WatchScreen.render(state, target: address, now: now, width: width, height: height)
                // Home, each line cleared to its end, the rest of the screen cleared: no flicker, no leftovers.
                write(Self.escape + "H" + lines.map { $0 + Self.escape + "K" }.joined(separator: "\r\n") + Self.escape + "J")
            } else {
                for line in plain.lines(state, now: now) { write(line + "\n") }
            }
            var timeout = timespec(tv_sec: Int(interval), tv_nsec: Int((interval - interval.rounded(.down)) * 1e9))
            let signal = sigtimedwait(&signals, nil, &timeout)
            // A resize redraws at once (with a fresh poll); a timeout is the next poll; anything else ends the watch.
            if signal == SIGWINCH || signal < 0 { continue }
            return
        }
    }

    private func poll(_ state: inout WatchState, address: String, token: String?) {
        do {
            try state.absorb(status: try fetch("/status", address: address, token: token))
            try state.absorb(timeline: try fetch("/timeline" + (state.since.map { "?since=\($0)" } ?? ""), address: address, token: token))
            state.problem = nil
        } catch {
            state.problem = "\(error)"
        }
    }

    private struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    private func fetch(_ path: String, address: String, token: String?) throws -> String {
        let (status, body) = try AdminClient.request("GET", address: address, path: path, token: token)
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
