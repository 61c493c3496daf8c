// The primary/canary pick: an error-diffusing accumulator, exact in aggregate over any window.

/// Each request adds `weight` credits; at 100 the request goes to the canary and 100 are spent.
/// Over any n consecutive requests the canary count is within one of n × weight / 100, so the
/// share over 1,000 requests is within 0.1 point of the weight (a random draw would wander by
/// ±1.3 points at 20%). Each loop and route starts at its own offset so loops are not in phase.
public struct WeightedSplit: Sendable {
    private var credit: Int

    public init(initialCredit: Int = 0) { credit = ((initialCredit % 100) + 100) % 100 }

    /// True when this request goes to the canary. `weight` is 0...100.
    @inline(__always)
    public mutating func pickCanary(weight: Int) -> Bool {
        credit += weight
        if credit >= 100 {
            credit -= 100
            return true
        }
        return false
    }
}
