// Runs a CPU-heavy simulation on a thread of its own, off Swift's cooperative pool.
import Foundation

/// The cooperative pool has one thread per core — two on the CI machine. Two calibrations holding
/// both for 10–30 s of a debug build starved every other suite's awaits: hook tests whose hooks were
/// killed at 0.3 s saw 30 s pass (measured with gdb: both pool threads in
/// `CalibrationTests.sequentialFalseFailures`). On a thread of its own the simulation shares the
/// cores through the kernel's scheduler instead.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
