// Samples a process's VmRSS on a background thread to catch the peak during a transfer.
import Foundation

/// Reads VmRSS every `interval` seconds until `finish()`, keeping the peak.
final class MemoryProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var samples = 0
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    init(interval: Double = 0.02, read: @escaping @Sendable () -> Int?) {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                if let kib = read() {
                    lock.withLock {
                        peak = max(peak, kib)
                        samples += 1
                    }
                }
                usleep(UInt32(interval * 1_000_000))
            }
            done.signal()
        }
        thread.name = "memory-probe"
        thread.start()
    }

    /// Stops sampling; returns the peak in KiB and the number of samples taken.
    func finish() -> (peakKiB: Int, samples: Int) {
        let wasRunning = lock.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        if wasRunning { _ = done.wait(timeout: .now() + 2) }
        return lock.withLock { (peak, samples) }
    }

    deinit { _ = finish() }
}

extension ProxyProcess {
    /// A probe of this proxy's RSS. (The pid is captured, not the non-Sendable process object.)
    func memoryProbe() -> MemoryProbe {
        let pid = self.pid
        return MemoryProbe { ProxyProcess.rssKiB(pid: pid) }
    }

    static func rssKiB(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
}
