// What the control plane knows about the running proxy: the current snapshot and the history of reloads.
import Config
import EventLoop
import Glibc
import Proxy
import Synchronization
import Telemetry

public final class ServerState: Sendable {
    public let configPath: String?
    public let loopCount: Int
    /// The config the process started with: some settings (buffers, threads, admin address) are fixed by it.
    public let startupConfig: CanarygateConfig
    /// Every loop's measurements; counters are keyed by route name so they survive reloads.
    public let metrics: MetricsRegistry
    /// Live canary weights of managed routes, shared by every snapshot.
    public let weights: WeightRegistry
    private let current: Mutex<Current>

    struct Current {
        var snapshot: ProxySnapshot
        var reloadSuccesses = 0
        var reloadFailures = 0
        /// Unix time (seconds) of the last successful (re)load.
        var lastSuccess: Double
        var lastError: String?
    }

    init(snapshot: ProxySnapshot, configPath: String?, loopCount: Int, weights: WeightRegistry) {
        self.weights = weights
        self.configPath = configPath
        self.loopCount = loopCount
        self.startupConfig = snapshot.config
        self.metrics = MetricsRegistry(loopCount: loopCount)
        current = Mutex(Current(snapshot: snapshot, lastSuccess: Self.unixTime()))
    }

    public var snapshot: ProxySnapshot { current.withLock { $0.snapshot } }

    public struct ReloadRecord: Sendable {
        public var successes: Int
        public var failures: Int
        public var lastSuccessUnixTime: Double
        public var lastError: String?
    }

    public var reloads: ReloadRecord {
        current.withLock {
            ReloadRecord(
                successes: $0.reloadSuccesses, failures: $0.reloadFailures, lastSuccessUnixTime: $0.lastSuccess, lastError: $0.lastError)
        }
    }

    func reloadSucceeded(_ snapshot: ProxySnapshot) {
        current.withLock {
            $0.snapshot = snapshot
            $0.reloadSuccesses += 1
            $0.lastSuccess = Self.unixTime()
            $0.lastError = nil
        }
    }

    /// A snapshot of the same config with other primary overrides (an undo, or its end): not a reload.
    func installed(_ snapshot: ProxySnapshot) {
        current.withLock { $0.snapshot = snapshot }
    }

    func reloadFailed(_ error: ReloadError) -> ReloadError {
        current.withLock {
            $0.reloadFailures += 1
            $0.lastError = error.message
        }
        return error
    }

    static func unixTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Settings a reload cannot change, because they were fixed when the process started.
enum ReloadRules {
    static func check(old: CanarygateConfig, new: CanarygateConfig) throws(ReloadError) {
        if new.admin.address != old.admin.address {
            throw ReloadError(message: "admin.address: cannot change from \(old.admin.address) to \(new.admin.address) without a restart")
        }
        if new.threads != old.threads {
            throw ReloadError(message: "threads: cannot change without a restart")
        }
        // The etcd client, the lease and the replica's identity are set up once, at start.
        if new.cluster != old.cluster {
            throw ReloadError(message: "cluster: cannot change without a restart")
        }
        let capacity = max(16 * 1024, old.limits.maxHeaderBytes + 1024) - 1024
        if new.limits.maxHeaderBytes > max(capacity, old.limits.maxHeaderBytes) {
            throw ReloadError(
                message:
                    "limits.maxHeaderBytes: \(new.limits.maxHeaderBytes) exceeds the \(capacity) bytes the running buffers hold; restart to raise it"
            )
        }
    }
}

extension ReloadRules {
    /// Each listener the reload adds must be able to listen now: the loops open it after the reload
    /// was accepted, when a failure could only be logged. A probe socket (SO_REUSEPORT, like the
    /// loops') is bound and closed; a port held by another program refuses the reload instead.
    static func checkNewListeners(current: ProxySnapshot, next: ProxySnapshot) throws(ReloadError) {
        // An address a running listener holds is not probed: the probe would join its SO_REUSEPORT
        // group for a moment, and connections hashed to it would be reset.
        for l in next.listeners where !current.listeners.contains(where: { $0.address == l.address }) {
            do {
                let probe = try SocketDescriptor.listen(on: l.address, backlog: 1, reusePort: true)
                probe.close()
            } catch {
                throw ReloadError(message: "listeners: \(l.name): cannot listen on \(l.address): \(error)")
            }
        }
    }
}
