// One second of one route as the timeline keeps it: the canary weight and each arm's rate, outcome classes and latency.
import Telemetry

/// What one arm answered during one sample's interval (about a second).
struct TimelineArmSample: Sendable, Equatable {
    /// Responses per second, to two decimals.
    var rps: Double
    /// 1xx, 2xx and 3xx responses.
    var ok: UInt64
    var clientErrors: UInt64
    /// 5xx responses, the proxy's own 502/503/504 included.
    var serverErrors: UInt64
    /// Exchanges the upstream side failed (refused, reset, timed out, ...): most also count in `serverErrors`,
    /// as the 502/504 the client got; this says how many came from the proxy rather than the application.
    var failed: UInt64
    /// Clients that went away before their response.
    var abort: UInt64
    /// Latency quantiles of the interval's responses in milliseconds (µs precision); nil without responses.
    var p50: Double?
    var p99: Double?

    /// The arm's sample from the counts of its interval (`delta`, a snapshot difference) and the interval's length.
    init(delta: ArmSnapshot, seconds: Double) {
        var classes = (ok: UInt64(0), clientErrors: UInt64(0), serverErrors: UInt64(0))
        for (status, count) in delta.requestsByStatus {
            switch status {
            case 100...399: classes.ok &+= count
            case 400...499: classes.clientErrors &+= count
            default: classes.serverErrors &+= count
            }
        }
        (ok, clientErrors, serverErrors) = classes
        // A gRPC error is an answered response (usually HTTP 200), not a failure of the exchange itself.
        failed = delta.failures.reduce(0) { $1.key.isUpstream && $1.key != .grpcError ? $0 &+ $1.value : $0 }
        abort = delta.failureCount(.downstreamAbort)
        rps = seconds > 0 ? (Double(delta.responses) / seconds * 100).rounded() / 100 : 0
        p50 = Self.milliseconds(delta.histogram.quantile(0.5))
        p99 = Self.milliseconds(delta.histogram.quantile(0.99))
    }

    init(
        rps: Double, ok: UInt64, clientErrors: UInt64, serverErrors: UInt64, failed: UInt64, abort: UInt64, p50: Double?, p99: Double?
    ) {
        self.rps = rps
        self.ok = ok
        self.clientErrors = clientErrors
        self.serverErrors = serverErrors
        self.failed = failed
        self.abort = abort
        self.p50 = p50
        self.p99 = p99
    }

    private static func milliseconds(_ seconds: Double?) -> Double? {
        seconds.map { ($0 * 1e6).rounded() / 1e3 }
    }
}

/// One route at one second.
struct TimelineSample: Sendable, Equatable {
    /// Unix time (seconds) of the whole second at which the sample was taken; it covers the interval before it.
    var t: Double
    /// The canary's share of the route's traffic at that moment, in percent.
    var weight: Int
    var primary: TimelineArmSample
    /// nil for a route without a canary.
    var canary: TimelineArmSample?
}

/// The last `capacity` samples of one route, oldest first; memory is fixed once full.
struct SampleRing: Sendable, Equatable {
    let capacity: Int
    private var storage: [TimelineSample] = []
    /// Where the oldest sample is once the ring is full (the next one overwrites it).
    private var head = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a ring holds at least one sample")
        self.capacity = capacity
        storage.reserveCapacity(capacity)
    }

    mutating func append(_ sample: TimelineSample) {
        if storage.count < capacity {
            storage.append(sample)
        } else {
            storage[head] = sample
            head = (head + 1) % capacity
        }
    }

    var count: Int { storage.count }

    /// Every sample, oldest first.
    var samples: [TimelineSample] { Array(storage[head...] + storage[..<head]) }

    /// The samples taken after `t` (all when nil), oldest first.
    func samples(after t: Double?) -> [TimelineSample] {
        guard let t else { return samples }
        return samples.filter { $0.t > t }
    }
}
