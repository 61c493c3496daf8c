// An endpoint's active health as its probes report it: `fall` failures in a row take it out, `rise` passes bring it back.

/// What a probe's result changed, for the caller to log.
enum HealthChange: Equatable {
    case none
    case becameHealthy
    case becameUnhealthy
}

/// Pure: the caller passes each probe's result and applies nothing but the returned change's log line.
/// An endpoint starts healthy, so that a reload or a start does not take traffic away before the
/// first probes had a chance to run; it stays in rotation until `fall` probes in a row failed.
struct HealthState: Equatable {
    private(set) var healthy = true
    /// Results in a row that disagree with `healthy`.
    private var contrary = 0

    mutating func record(passed: Bool, rise: Int, fall: Int) -> HealthChange {
        guard passed != healthy else {
            contrary = 0
            return .none
        }
        contrary += 1
        guard contrary >= (healthy ? fall : rise) else { return .none }
        contrary = 0
        healthy = passed
        return passed ? .becameHealthy : .becameUnhealthy
    }
}
