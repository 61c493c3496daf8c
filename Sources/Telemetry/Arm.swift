// The two arms of a route, as metrics label values and array indices.

public enum Arm: Int, Sendable, CaseIterable {
    case primary = 0
    case canary = 1

    public var label: String { self == .primary ? "primary" : "canary" }
}
