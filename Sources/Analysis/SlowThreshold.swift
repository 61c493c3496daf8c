// The latency threshold T that makes a request a "slow" bad event for the sequential judge.

import Config
import Telemetry

/// The slow-request threshold `T` of the sequential judge (docs/JUDGES.md, section 2), in seconds.
///
/// `T` must be fixed *before* the events it judges: the primary's p99 over the **previous**
/// interval (or over the warm-up at weight 0), or a configured SLO. Re-deriving `T` from data that
/// includes the events being tested breaks the anytime-valid guarantee. With `T` at the
/// primary's p99, about 1 % of each arm's requests are slow under H0, and the judge asks whether
/// the canary holds more than its share of them. The cut itself is made at the bucket boundary
/// nearest to `T` (`ArmWindow.slow(threshold:)`), the same for both arms.
public enum SlowThreshold {
    /// `T` in seconds for `rule`; nil when it is the primary's p99 and the previous interval had no
    /// primary latencies (then there is no slow-request test for the coming interval).
    public static func seconds(_ rule: SequentialConfig.SlowThreshold, previousPrimary: HistogramSnapshot) -> Double? {
        switch rule {
        case .primaryP99:
            return previousPrimary.quantile(0.99)
        case .fixed(let duration):
            let (seconds, attoseconds) = duration.components
            return Double(seconds) + Double(attoseconds) * 1e-18
        }
    }
}
