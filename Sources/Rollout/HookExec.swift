// An exec hook: posix_spawnp of argv with only its configured environment and stdio, output captured, killed at its timeout.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The child is spawned with a clean signal state: the control thread blocks SIGHUP/SIGTERM/SIGINT
/// for its signalfd and every hook thread inherits that mask, and a spawned process inherits it too
/// (and any SIG_IGN disposition, e.g. SIGPIPE's) — a hook that cannot be stopped by SIGTERM. So the
/// mask is emptied and every disposition reset (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF).
/// The child also leads a process group of its own, so a timeout stops `sh -c '…'` and what it started.
///
/// It gets nothing of the proxy's it was not given: its environment is the hook's `passEnv` names (PATH
/// by default), its `env`, and the rollout's facts — as systemd starts a service with a clean environment
/// and sudo's env_reset keeps a short list — because the proxy's environment may hold secrets (a TLS key's
/// passphrase, a cloud token) that a deploy script's output or a compromised hook would leak. Its only
/// descriptors are stdin (/dev/null) and stdout/stderr (the output pipe): every descriptor the proxy opens
/// is close-on-exec, and the child closes all above 2 before exec as well (`closeFrom`), which also covers
/// a descriptor opened without the flag by a library or in the window of a racing `fcntl`.
struct ExecCall {
    let request: HookRequest
    let command: [String]
    let killGrace: Duration

    /// The tail of the output kept for the failure detail.
    static let outputTail = 4096
    /// How often the child is checked for exit while it runs (no pidfd in Glibc's Swift overlay).
    static let pollMilliseconds: Int32 = 20

    func perform(deadline: UInt64) -> HookAttempt {
        guard let program = command.first, !program.isEmpty else {
            return .fail("empty command", retryable: false)
        }
        let readEnd: Int32
        let pid: pid_t
        switch Self.spawnLock.withLock({ _ in spawnWithPipe(program) }) {
        case .success(let started): (pid, readEnd) = started
        case .failure(let failure): return .fail(failure.message)
        }
        defer { close(readEnd) }

        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
        var output = OutputTail(limit: Self.outputTail)
        var pipeOpen = true
        while true {
            if let status = Self.reapIfExited(pid) {
                if pipeOpen { output.drain(readEnd) }
                return Self.judge(status: status, output: output.shown)
            }
            let wait = HookClock.pollMilliseconds(until: deadline, cap: Self.pollMilliseconds)
            if wait == 0 { break }
            if pipeOpen {
                var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, wait) > 0 { pipeOpen = output.drain(readEnd) }
            } else {
                HookClock.sleep(nanoseconds: UInt64(wait) * 1_000_000)
            }
        }
        terminate(pid)
        if pipeOpen { output.drain(readEnd) }
        return .fail("timed out after \(HookClock.describe(request.hook.timeout))", output: output.shown)
    }

    struct SpawnFailure: Error { var message: String }

    /// Glibc's Swift overlay has no pipe2, so the pipe's ends get FD_CLOEXEC just after pipe(): under
    /// this lock, so that a concurrent hook's child cannot inherit them in between (it would hold our
    /// pipe open). Nothing else in the process spawns while hooks run.
    static let spawnLock = Mutex(())

    /// Starts the child with its stdout and stderr on a new pipe; the pid and the pipe's read end.
    private func spawnWithPipe(_ program: String) -> Result<(pid_t, Int32), SpawnFailure> {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { return .failure(SpawnFailure(message: "pipe: \(String(cString: strerror(errno)))")) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let spawned = spawn(program, writeEnd: writeEnd)
        // The child has its copies; ours must go, or the pipe never reports end of file.
        close(writeEnd)
        switch spawned {
        case .success(let pid): return .success((pid, readEnd))
        case .failure(let error):
            close(readEnd)
            return .failure(SpawnFailure(message: "cannot run \(program): \(String(cString: strerror(error.code)))"))
        }
    }

    struct SpawnError: Error { var code: Int32 }

    private func spawn(_ program: String, writeEnd: Int32) -> Result<pid_t, SpawnError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        // After the dup2s: it closes the pipe's own descriptor too.
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        // Every signal to its default: at least SIGTERM/SIGINT/SIGHUP (blocked or handled here) and
        // SIGPIPE (ignored by many hosts); glibc skips the ones that cannot be reset.
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let facts = HookEnvironment.variables(for: request)
        let environment = HookEnvironment.entries(
            parent: Self.parentEnvironment(), pass: request.hook.passEnvironment,
            configured: request.hook.environment, extra: request.environment, facts: facts)
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        // posix_spawnp: a bare command name is looked up in PATH, as a shell would.
        let rc = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        return rc == 0 ? .success(pid) : .failure(SpawnError(code: rc))
    }

    typealias CloseFromAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+; close_range(2) in the child, /proc/self/fd
    /// where that is missing), looked up at run time because Glibc's Swift module is built without
    /// _GNU_SOURCE, which hides it. Older C libraries: nil, and close-on-exec is the only line of defence.
    static var closeFrom: CloseFromAction? {
        closeFromAddress.map { unsafeBitCast(UnsafeRawPointer(bitPattern: $0)!, to: CloseFromAction.self) }
    }

    /// Kept as an integer: a raw pointer is not Sendable. RTLD_DEFAULT is glibc's null handle.
    private static let closeFromAddress: UInt? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { UInt(bitPattern: $0) }

    /// The proxy's own environment as `KEY=VALUE` strings.
    static func parentEnvironment() -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            entries.append(String(cString: entry))
            cursor += 1
        }
        return entries
    }

    /// The wait status once the child has exited (reaped), nil while it runs.
    static func reapIfExited(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { return status }
            if rc == 0 { return nil }
            if errno == EINTR { continue }
            // ECHILD: someone else reaped it (SIGCHLD ignored by the host); its status is lost.
            return -1
        }
    }

    /// SIGTERM to the group, `killGrace` to exit, then SIGKILL to the group; always reaped.
    ///
    /// While waiting, the leader is observed with WNOWAIT: unreaped, its pid — which is the group's id —
    /// cannot be reused, so the final SIGKILL to the group can never reach an unrelated process.
    private func terminate(_ pid: pid_t) {
        kill(-pid, SIGTERM)
        let graceEnd = HookClock.now() + HookClock.nanoseconds(killGrace)
        while HookClock.now() < graceEnd && !Self.hasExited(pid) {
            HookClock.sleep(nanoseconds: 10_000_000)
        }
        // Stragglers (a shell's children that ignore SIGTERM) go too.
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Whether the child has exited, without reaping it.
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        while true {
            let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if rc == 0 { return info._sifields._sigchld.si_pid == pid }
            if errno == EINTR { continue }
            return true
        }
    }

    /// "exit 0" passes; "exit 2", "killed by signal 9" fail, with the output's tail beside the detail.
    static func judge(status: Int32, output: String) -> HookAttempt {
        let detail: String
        if status == -1 {
            detail = "exit status unavailable"
        } else if status & 0x7F == 0 {
            let code = (status >> 8) & 0xFF
            if code == 0 { return .pass("exit 0") }
            detail = "exit \(code)"
        } else {
            detail = "killed by signal \(status & 0x7F)"
        }
        return .fail(detail, output: output)
    }
}

/// The last `limit` bytes of a child's stdout and stderr, and how many came before them.
struct OutputTail {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    /// Every byte the child wrote, kept or not.
    private(set) var total = 0

    init(limit: Int) { self.limit = limit }

    /// Reads what the non-blocking pipe holds; false once it reports end of file (or an error).
    @discardableResult
    mutating func drain(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                append(buffer[0..<n])
                continue
            }
            if n < 0 && errno == EINTR { continue }
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
        }
    }

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        total += chunk.count
        bytes += chunk
        // Trimmed in batches so a chatty child does not cost a copy per read.
        if bytes.count > 2 * limit { bytes.removeFirst(bytes.count - limit) }
    }

    /// The tail as one line for logs and /status: trimmed of surrounding white space, line breaks and
    /// other control characters escaped (a child must not forge log lines or terminal escapes), invalid
    /// UTF-8 replaced, and "(N bytes dropped) " in front when the output was longer than `limit`.
    var shown: String {
        let tail = bytes.suffix(limit)
        var text = String(decoding: tail, as: UTF8.self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case "\\": escaped += "\\\\"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value):
                escaped += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        let dropped = total - tail.count
        return dropped > 0 && !escaped.isEmpty ? "(\(dropped) bytes dropped) \(escaped)" : escaped
    }
}
