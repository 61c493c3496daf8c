// Simulated traffic of one scenario, tick by tick: request counts, bad outcomes by class, latencies, clusters, outages.

import Analysis
import Simulation
import Telemetry
#if canImport(Glibc)
import Glibc
#endif

/// One arm's behaviour: per-request probabilities of each bad outcome and its latency.
struct ArmBehaviour {
    var serverErrors = 0.0
    var clientErrors = 0.0
    var aborts = 0.0
    /// Median latency in ms (lognormal, σ = 0.3), scaled by `1 + loadSensitivity × the arm's share of the load`.
    var medianMs = 20.0
    var loadSensitivity = 0.0
    /// A share of requests `tailExtraMs` slower.
    var tailShare = 0.0
    var tailExtraMs = 0.0
    var shiftMs = 0.0
}

/// A scenario's traffic: the two arms, the rate, how failures cluster.
struct Traffic {
    var requestsPerSecond: Double
    var primary = ArmBehaviour()
    var canary = ArmBehaviour()
    /// 5xx come in clusters of 3...5 within a tick (same per-request rate).
    var clustered = false
    /// Outages: starting at this rate per second (each on the canary with the canary's share of the
    /// traffic, so both arms fail at the same rate per request), lasting 0.5–2 s, failing half the arm's requests.
    var outagesPerSecond = 0.0
    /// Bursts per arm and per unit of time (not per request): every `period` seconds each arm fails every
    /// request for `length` seconds, the primary's bursts shifted by `primaryOffset` seconds.
    var periodicBursts: (period: Double, length: Double, primaryOffset: Double)?
    /// Whether latencies are simulated (histograms per tick are costly; only latency scenarios need them).
    var latency = false
}

/// The state of one run's traffic.
struct TrafficRun {
    let traffic: Traffic
    /// Ticks left of an ongoing outage, per arm (0 canary, 1 primary).
    var outageTicks = [0, 0]
    /// Ticks since the run began (for periodic bursts), and where in its period the run starts.
    var tickCount = 0
    var phase: Double = -1
    static let emptyHistogram = HistogramSnapshot()

    init(_ traffic: Traffic) { self.traffic = traffic }

    /// One tick's windows at canary weight `weight` (0...100).
    mutating func tick(weight: Int, rng: inout Xoshiro256) -> (canary: ArmWindow, primary: ArmWindow) {
        let share = Double(weight) / 100, perTick = traffic.requestsPerSecond * 0.1
        if traffic.outagesPerSecond > 0, rng.uniform() < traffic.outagesPerSecond * 0.1 {
            let arm = rng.uniform() < share ? 0 : 1
            outageTicks[arm] = max(outageTicks[arm], 5 + Int(rng.uniform() * 16))
        }
        var bursting = (canary: false, primary: false)
        if let bursts = traffic.periodicBursts {
            if phase < 0 { phase = rng.uniform() * bursts.period }
            let t = phase + Double(tickCount) * 0.1
            tickCount += 1
            func inBurst(_ offset: Double) -> Bool {
                let x = (t - offset).truncatingRemainder(dividingBy: bursts.period)
                return (x < 0 ? x + bursts.period : x) < bursts.length
            }
            bursting = (inBurst(0), inBurst(bursts.primaryOffset))
        }
        var canary = arm(traffic.canary, requests: rng.poisson(perTick * share), load: share, outage: outageTicks[0] > 0, rng: &rng)
        var primary = arm(traffic.primary, requests: rng.poisson(perTick * (1 - share)), load: 1 - share, outage: outageTicks[1] > 0, rng: &rng)
        if bursting.canary { canary.failures = canary.n; canary.clientErrors = 0 }
        if bursting.primary { primary.failures = primary.n; primary.clientErrors = 0 }
        outageTicks = outageTicks.map { max(0, $0 - 1) }
        return (canary, primary)
    }

    private func arm(_ b: ArmBehaviour, requests: UInt64, load: Double, outage: Bool, rng: inout Xoshiro256) -> ArmWindow {
        let aborts = rng.binomial(requests, b.aborts)
        let responses = requests - aborts
        var serverErrors: UInt64
        if traffic.clustered {
            // Clusters of 3...5 (mean 4) at a quarter of the per-request rate: the same expected count.
            serverErrors = 0
            for _ in 0..<rng.poisson(Double(responses) * b.serverErrors / 4) { serverErrors += 3 + rng.next() % 3 }
            serverErrors = min(serverErrors, responses)
        } else {
            serverErrors = rng.binomial(responses, b.serverErrors)
        }
        if outage { serverErrors = min(responses, serverErrors + rng.binomial(responses - serverErrors, 0.5)) }
        let clientErrors = rng.binomial(responses - serverErrors, b.clientErrors)
        var histogram = Self.emptyHistogram
        if traffic.latency {
            let median = b.medianMs * (1 + b.loadSensitivity * load) + b.shiftMs
            for _ in 0..<responses {
                // Box-Muller: a standard normal for the lognormal's exponent.
                let z = (-2 * log(rng.uniform())).squareRoot() * cos(2 * Double.pi * rng.uniform())
                var ms = median * exp(0.3 * z)
                if b.tailShare > 0, rng.uniform() < b.tailShare { ms += b.tailExtraMs }
                histogram.record(nanoseconds: UInt64(ms * 1e6))
            }
        }
        return ArmWindow(n: responses, failures: serverErrors, clientErrors: clientErrors, aborts: aborts, histogram: histogram)
    }
}

extension ArmWindow {
    /// The sum of two windows of the same arm (an interval from its ticks).
    func adding(_ other: ArmWindow) -> ArmWindow {
        ArmWindow(n: n + other.n, failures: failures + other.failures, clientErrors: clientErrors + other.clientErrors,
                  aborts: aborts + other.aborts,
                  histogram: other.histogram.count == 0 ? histogram : histogram.count == 0 ? other.histogram : histogram.merged(with: other.histogram))
    }
}
