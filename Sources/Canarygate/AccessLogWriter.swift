// The access log's writer thread: drains every loop's ring into the file, one write per batch; reopens it on SIGUSR1 and on a new path.
import CLinuxShims
import Config
import EventLoop
import Glibc
import Logging
import Proxy
import Synchronization
import Telemetry

/// The loops never wait for the disk: they format lines into their rings (`AccessLogRing`) and this
/// thread, woken every 50 ms or by a loop whose ring passed a quarter full, copies what they published
/// into one batch and appends it with one write. What a full ring cannot take is dropped by the loop
/// and counted. The thread starts with the first config that has `accessLog`, and lives until `stop`.
final class AccessLogWriter: Sendable {
    /// One ring per event loop, by loop index.
    let rings: [AccessLogRing]
    private let wake: Int32
    private let logger: Logger
    private let requests = Mutex(Requests())
    private let thread = Mutex<LoopThread?>(nil)
    private let linesWritten = Atomic<UInt64>(0)
    private let bytesWritten = Atomic<UInt64>(0)
    /// Lines lost after they left the loops: the file could not be opened or written.
    private let linesLost = Atomic<UInt64>(0)

    /// What the other threads ask of the writer, read at each of its rounds.
    private struct Requests {
        /// The file to write to; nil: the log is off (what is queued is still written to the open file).
        var path: String?
        /// SIGUSR1: close and open the path again (logrotate moved the file away).
        var reopen = false
        var stop = false
    }

    /// The time between two rounds when no loop wakes the writer.
    static let roundMilliseconds: Int32 = 50
    static let batchBytes = 1 << 20

    /// `ringBytes`: each loop's ring (a power of two). Its pages are touched only once lines are written.
    init(loops: Int, ringBytes: Int = 2 << 20, logger: Logger) throws {
        let wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wake >= 0 else { throw Errno.current }
        self.wake = wake
        rings = (0..<loops).map { _ in AccessLogRing(capacity: ringBytes, wakeDescriptor: wake) }
        self.logger = logger
    }

    deinit { close(wake) }

    /// The writer for a start with `config`: its file checked, its thread running when the log is on.
    static func started(_ config: AccessLogConfig?, loops: Int, logger: Logger) throws -> AccessLogWriter {
        try checkWritable(config)
        let writer = try AccessLogWriter(loops: loops, logger: logger)
        writer.apply(config)
        return writer
    }

    /// Fails when `config`'s file cannot be opened for appending (a start or a reload is refused then).
    static func checkWritable(_ config: AccessLogConfig?) throws(StartupError) {
        guard let config else { return }
        let fd = open(config.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StartupError(description: "accessLog.path: cannot open \(config.path): \(Errno.current)") }
        close(fd)
    }

    /// The config's `accessLog` (at start and at each reload): a new path is opened at the next round;
    /// the format and sample are the loops' (from the snapshot).
    func apply(_ config: AccessLogConfig?) {
        requests.withLock { $0.path = config?.path }
        if config != nil { startIfNeeded() }
        poke()
    }

    /// SIGUSR1: the file is reopened at the next round, so lines go to a file at the path again after a rotation.
    func reopen() {
        requests.withLock { $0.reopen = true }
        poke()
    }

    /// Writes what the loops queued (call after they stopped) and ends the thread.
    func stop() {
        requests.withLock { $0.stop = true }
        poke()
        thread.withLock { $0.take() }?.join()
    }

    var written: (lines: UInt64, bytes: UInt64) { (linesWritten.load(ordering: .relaxed), bytesWritten.load(ordering: .relaxed)) }

    /// Lines dropped: by the loops (ring full) and after them (file not writable).
    var dropped: UInt64 { rings.reduce(linesLost.load(ordering: .relaxed)) { $0 + $1.dropped } }

    private func poke() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    private func startIfNeeded() {
        thread.withLock { running in
            guard running == nil else { return }
            running = LoopThread.spawn { [self] in run() }
        }
    }

    private func run() {
        let batch = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.batchBytes, alignment: 64)
        defer { batch.deallocate() }
        var file = AccessLogFile(logger: logger)
        while true {
            var ready = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, Self.roundMilliseconds) > 0 {
                var value: UInt64 = 0
                _ = read(wake, &value, 8)
            }
            let asked = requests.withLock { r -> Requests in
                let copy = r
                r.reopen = false
                return copy
            }
            // What was queued before a rotation or a new path belongs to the file that was open then;
            // with none open yet (the first round), the new one takes it.
            if file.path == nil { file.open(asked.path) }
            drainRings(into: &file, batch: batch)
            if asked.path != file.path || asked.reopen { file.open(asked.path) }
            if asked.stop {
                drainRings(into: &file, batch: batch)
                file.open(nil)
                return
            }
        }
    }

    /// Copies every ring's published bytes into `batch`, writing it each time it fills and at the end.
    private func drainRings(into file: inout AccessLogFile, batch: UnsafeMutableRawBufferPointer) {
        var used = 0
        for ring in rings {
            while true {
                let n = ring.drain(limit: batch.count - used) { piece in
                    UnsafeMutableRawBufferPointer(rebasing: batch[used...]).copyMemory(from: piece)
                    used += piece.count
                }
                if n == 0 { break }
                if used == batch.count {
                    flush(UnsafeRawBufferPointer(rebasing: batch[0..<used]), to: &file)
                    used = 0
                }
            }
        }
        if used > 0 { flush(UnsafeRawBufferPointer(rebasing: batch[0..<used]), to: &file) }
    }

    private func flush(_ bytes: UnsafeRawBufferPointer, to file: inout AccessLogFile) {
        // memchr from line to line: a byte-by-byte count cost the writer ~3,000 instructions a line (callgrind).
        var lines: UInt64 = 0
        var at = bytes.baseAddress!
        let end = at + bytes.count
        while at < end, let newline = memchr(at, Int32(UInt8(ascii: "\n")), end - at) {
            lines += 1
            at = UnsafeRawPointer(newline) + 1
        }
        if file.append(bytes) {
            linesWritten.add(lines, ordering: .relaxed)
            bytesWritten.add(UInt64(bytes.count), ordering: .relaxed)
        } else {
            linesLost.add(lines, ordering: .relaxed)
        }
    }
}

/// The open log file of the writer thread.
private struct AccessLogFile {
    let logger: Logger
    private(set) var path: String?
    private var fd: Int32 = -1

    init(logger: Logger) { self.logger = logger }

    /// Closes the current file and opens `path` for appending (created when missing); nil: none.
    mutating func open(_ path: String?) {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        self.path = path
        guard let path else { return }
        fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { logger.error("access log: cannot open \(path): \(Errno.current); lines are dropped until SIGUSR1 or a reload") }
    }

    /// Appends all of `bytes` (one write, more only when the kernel takes part of it); false when they were lost.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard fd >= 0 else { return false }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                logger.error("access log: write to \(path ?? "") failed: \(Errno.current)")
                return false
            }
            offset += n
        }
        return true
    }
}

extension AccessLogWriter {
    /// The access log's counters for /metrics (zero while the log was never on).
    func render(into writer: inout PrometheusWriter) {
        let written = written
        writer.family("canarygate_access_log_written_total", type: .counter, help: "Access-log lines written to the file.")
        writer.sample("canarygate_access_log_written_total", [], written.lines)
        writer.family("canarygate_access_log_written_bytes_total", type: .counter, help: "Access-log bytes written to the file.")
        writer.sample("canarygate_access_log_written_bytes_total", [], written.bytes)
        writer.family(
            "canarygate_access_log_dropped_total", type: .counter,
            help: "Access-log lines dropped: a loop's ring was full (the disk lagged), or the file could not be written.")
        writer.sample("canarygate_access_log_dropped_total", [], dropped)
    }
}
