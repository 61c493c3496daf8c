// The `accessLog:` section: where each request's line goes, in which format, and which share of the requests.

/// One line per request, written by a thread of its own (see the README, "Access log"). Absent: no log.
public struct AccessLogConfig: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// One JSON object per line.
        case json
        /// nginx's `combined` line, with the proxy's own fields appended as `key=value`.
        case combined
    }

    /// The file the lines are appended to (created when missing); a relative path is relative to the
    /// proxy's working directory.
    public var path: String
    public var format: Format = .json
    /// The fraction of requests logged, in (0, 1]. 5xx answers, proxy failures and aborts are always logged.
    public var sample: Double = 1.0

    public init(path: String, format: Format = .json, sample: Double = 1.0) {
        self.path = path
        self.format = format
        self.sample = sample
    }
}
