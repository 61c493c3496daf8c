// What a rollout keeps after a promotion: the previous primary for `rollbackWindow`, the `watch`, and an undo's override.
import Config

/// A primary arm as configured (revision and endpoints), in a form the state file can hold.
public struct ArmRecord: Sendable, Equatable, Codable {
    public struct Endpoint: Sendable, Equatable, Codable {
        public var host: String
        public var port: UInt16

        public init(_ hostPort: HostPort) {
            host = hostPort.host
            port = hostPort.port
        }

        public var hostPort: HostPort { HostPort(host: host, port: port) }
    }

    public var revision: String
    public var endpoints: [Endpoint]

    public init(revision: String, endpoints: [HostPort]) {
        self.revision = revision
        self.endpoints = endpoints.map(Endpoint.init)
    }

    public var hostPorts: [HostPort] { endpoints.map(\.hostPort) }

    /// "v1 at 127.0.0.1:9001, 127.0.0.1:9002", for messages.
    public var described: String {
        "\(revision) at " + (endpoints.isEmpty ? "its endpoints" : hostPorts.map(\.description).joined(separator: ", "))
    }
}

/// A promotion that succeeded while `rollbackWindow` or `watch` is still running (README, "After promotion").
/// Times are virtual-clock nanoseconds, re-based when a state file is loaded (`rebased`).
public struct AfterPromotion: Sendable, Equatable, Codable {
    /// The revision the promotion installed.
    public var revision: String
    /// The primary before the promotion: where `undo` sends the route's primary traffic back.
    public var previousPrimary: ArmRecord
    /// When the rollback window closes; nil: no window (`rollbackWindow` 0) or closed.
    public var windowClosesAt: UInt64?
    /// When the watch ends; nil: no watch, ended, or failed.
    public var watchEndsAt: UInt64?
    /// Watch intervals judged so far (the next spends α / ((n+1)(n+2)) of the comparison's α).
    public var watchedIntervals: Int
    /// A watch failure that could not be undone (no window open): shown until the next rollout.
    public var watchAlert: String?

    public init(
        revision: String, previousPrimary: ArmRecord, windowClosesAt: UInt64?, watchEndsAt: UInt64?, watchedIntervals: Int = 0,
        watchAlert: String? = nil
    ) {
        self.revision = revision
        self.previousPrimary = previousPrimary
        self.windowClosesAt = windowClosesAt
        self.watchEndsAt = watchEndsAt
        self.watchedIntervals = watchedIntervals
        self.watchAlert = watchAlert
    }

    /// Nothing left running or to show.
    var isOver: Bool { windowClosesAt == nil && watchEndsAt == nil && watchAlert == nil }

    /// The same deadlines in a restarted process's clock: what was left when the file was saved (virtual time
    /// `savedAt`), less the wall-clock time that has passed since (`elapsed`), from `now`.
    public func rebased(savedAt: UInt64, elapsed: UInt64, now: UInt64) -> AfterPromotion {
        func move(_ t: UInt64?) -> UInt64? {
            guard let t else { return nil }
            let left = t > savedAt ? t - savedAt : 0
            return now + (left > elapsed ? left - elapsed : 0)
        }
        var moved = self
        moved.windowClosesAt = move(windowClosesAt)
        moved.watchEndsAt = move(watchEndsAt)
        return moved
    }
}

/// After an undo whose previous primary ran on other endpoints: the route's primary traffic goes to `arm`
/// instead of the configured primary, until a reload configures a primary other than `replaces`.
public struct PrimaryOverride: Sendable, Equatable, Codable {
    /// Where the primary traffic goes (the previous primary).
    public var arm: ArmRecord
    /// The configured primary it stands in for.
    public var replaces: ArmRecord

    public init(arm: ArmRecord, replaces: ArmRecord) {
        self.arm = arm
        self.replaces = replaces
    }

    /// A reload keeps the override only while it configures the same primary (revision and endpoints) it
    /// replaced: a reload for something else must not send traffic back to the undone revision, and one that
    /// changes the primary is an operator's deliberate choice, which ends the override.
    public func holds(against configured: ArmRecord) -> Bool { configured == replaces }
}

/// The last undo, for /status: what it switched back to and how.
public struct UndoRecord: Sendable, Equatable, Codable {
    public enum Method: String, Sendable, Codable {
        /// The route's primary traffic went to the previous primary's endpoints (`PrimaryOverride`).
        case endpoints
        /// Same endpoints: the `rollback` hooks were run to redeploy the previous revision on them.
        case rollbackHook = "rollback-hook"
    }

    public var undone: String
    public var restored: String
    public var method: Method
    public var reason: String
    /// With `rollbackHook`: "running", "passed", or "failed: …".
    public var hookResult: String?

    public init(undone: String, restored: String, method: Method, reason: String, hookResult: String? = nil) {
        self.undone = undone
        self.restored = restored
        self.method = method
        self.reason = reason
        self.hookResult = hookResult
    }
}
