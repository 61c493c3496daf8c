// Arm labels are the values /metrics and /status show.
import Testing
import Telemetry

@Test func armLabels() {
    #expect(Arm.primary.label == "primary")
    #expect(Arm.canary.label == "canary")
    #expect(Arm.allCases.map(\.rawValue) == [0, 1])
}
