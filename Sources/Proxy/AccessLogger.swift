// One event loop's side of the access log: whether and how it logs (from the snapshot), sampling, and the lines into its ring.
import Config
import Glibc
import HTTP

/// Lives as long as its loop and is only touched on it. Off (the default, and whenever the config has
/// no `accessLog`): a request pays one test of `isOn`. On: a request's fields are captured when it is
/// routed (`capture`) and its line is formatted straight into the loop's ring when it ends (`write`).
final class AccessLogger {
    /// The loop's ring; nil for a loop built without one (unit tests of the loop), which never logs.
    private let ring: AccessLogRing?
    /// Captures of requests that ended, for the next ones: as many as were ever in flight at once, up to `maxSpares`.
    private var spares: [AccessLogCapture] = []
    private static let maxSpares = 4096
    private(set) var isOn = false
    private var format = AccessLogConfig.Format.json
    private var sampler = AccessLogSampler(fraction: 1)
    private var clock = AccessLogClock()

    init(ring: AccessLogRing?) {
        self.ring = ring
    }

    /// The snapshot's `accessLog` (at start and at each reload): format and sample change for requests ending from now on.
    func configure(_ config: AccessLogConfig?) {
        isOn = ring != nil && config != nil
        guard let config else { return }
        format = config.format
        if sampler.fraction != config.sample { sampler = AccessLogSampler(fraction: config.sample) }
    }

    /// The capture of a request whose head is `view` (nil: refused before it had one), to be ended by `write`.
    func capture(
        _ view: RequestView?, target: UnsafeRawBufferPointer, client: UnsafeRawBufferPointer, proto: StaticString, now: UInt64
    ) -> AccessLogCapture {
        let capture = spares.popLast() ?? AccessLogCapture(logger: self)
        capture.start(view, target: target, client: client, proto: proto, now: now)
        return capture
    }

    /// Ends `capture`: writes its line (unless sampled out) and keeps the capture for a next request.
    func write(
        _ capture: AccessLogCapture, status: Int?, failure: String?, bytesToClient: UInt64, endpoint: UpstreamPool?, now: UInt64
    ) {
        defer {
            capture.clear()
            if spares.count < Self.maxSpares { spares.append(capture) }
        }
        guard isOn, let ring else { return }
        let alwaysLogged = status == nil || failure != nil || status! >= 500
        guard sampler.admits(alwaysLogged: alwaysLogged) else { return }
        guard let base = ring.reserve() else { return }
        let ms = clock.unixMilliseconds(now: now)
        var line = AccessLogLine(base: base)
        capture.withEntry(
            status: status, failure: failure, bytesToClient: bytesToClient, endpoint: endpoint, now: now, unixMilliseconds: ms
        ) { entry in
            entry.write(format, time: clock.text, into: &line)
        }
        if ring.commit(line.count) && ring.wakeDescriptor >= 0 {
            var one: UInt64 = 1
            _ = Glibc.write(ring.wakeDescriptor, &one, 8)
        }
    }
}

/// Which requests are logged under `sample`: a fraction of the ordinary ones by a per-loop credit (no
/// random numbers, no clock: exactly ⌊n × fraction⌋ or one more of every n), and every one that must be seen.
/// The credit counts in millionths, so that 10 × 0.1 makes exactly one (in floating point it does not).
struct AccessLogSampler {
    let fraction: Double
    private let step: Int
    private var credit = 0
    private static let one = 1_000_000

    init(fraction: Double) {
        self.fraction = fraction
        step = Int((fraction * Double(Self.one)).rounded())
    }

    /// `alwaysLogged`: a 5xx, a proxy failure or refusal, an abort.
    mutating func admits(alwaysLogged: Bool) -> Bool {
        if alwaysLogged || step >= Self.one { return true }
        credit += step
        guard credit >= Self.one else { return false }
        credit -= Self.one
        return true
    }
}
