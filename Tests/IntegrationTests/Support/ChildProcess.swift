// A child process spawned with a clean signal state (posix_spawn), its output in files, reaped with waitpid.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why not Foundation's `Process`: it spawns from the calling thread, and Swift Testing calls tests
/// on dispatch worker threads, which block most signals; the child would start with SIGTERM blocked
/// (and SIGPIPE ignored by the harness). Here the mask is emptied and every handler reset.
final class ChildProcess {
    let pid: pid_t
    private var exitStatus: Int32?

    /// Starts `path arguments…` with stdin from `stdinPath` (/dev/null by default), stdout to `stdoutPath`,
    /// stderr to `stderrPath` (or to stdout's file when nil).
    init(
        path: String, arguments: [String], stdoutPath: String, stderrPath: String? = nil,
        stdinPath: String = "/dev/null"
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let stderrPath {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attributes, argv, environ)
        if rc != 0 { throw SocketError.failed("posix_spawn \(path)", rc) }
        pid = child
    }

    deinit { _ = terminate(grace: 0) }

    /// Reaps the child if it has exited; true while it runs.
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        if rc == pid || (rc < 0 && errno == ECHILD) {
            exitStatus = rc == pid ? status : -1
            return false
        }
        return true
    }

    /// The exit code (128 + signal when killed by one); nil while running.
    var terminationStatus: Int32? {
        guard !isRunning, let status = exitStatus else { return nil }
        if status == -1 { return -1 }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Waits up to `timeout` seconds for the child to exit; returns whether it did.
    @discardableResult
    func wait(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; always reaps. Returns the exit status.
    @discardableResult
    func terminate(grace: Double = 2) -> Int32? {
        if isRunning {
            kill(pid, SIGTERM)
            if !wait(timeout: grace) {
                kill(pid, SIGKILL)
                wait(timeout: 5)
            }
        }
        return terminationStatus
    }
}

extension ChildProcess {
    /// Runs any program to completion (killed after `timeout` seconds) with `stdin` as its input;
    /// returns its exit status and what it wrote to stdout and stderr.
    static func run(
        _ path: String, _ arguments: [String], stdin: String = "",
        timeout: Double = 20
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let dir = try TempDir.make()
        defer { dir.remove() }
        let input = try dir.write("stdin", stdin)
        let out = dir.url.appendingPathComponent("stdout"), err = dir.url.appendingPathComponent("stderr")
        let child = try ChildProcess(
            path: path, arguments: arguments, stdoutPath: out.path, stderrPath: err.path,
            stdinPath: input.path)
        if !child.wait(timeout: timeout) { child.terminate(grace: 0) }
        // Decoded leniently: a tool may print binary (openssl s_client echoes an HTTP/2 server's
        // SETTINGS frame), and a strict decode would drop the whole output.
        let text = { (url: URL) in (try? Data(contentsOf: url)).map { String(decoding: $0, as: UTF8.self) } ?? "" }
        return (child.terminationStatus ?? -1, text(out), text(err))
    }
}
