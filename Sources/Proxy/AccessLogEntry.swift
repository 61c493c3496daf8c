// One request's access-log fields, and how they are written as a JSON object or as nginx's combined line.
import Config

/// What a line says about a request. The byte fields point into the request's capture and the
/// connection's peer text, valid while the line is written; nothing here is copied into a `String`.
struct AccessLogEntry {
    var unixMilliseconds: Int64
    var client: UnsafeRawBufferPointer
    /// Empty when the proxy refused the request before it had a head (the line then shows "-").
    var method: UnsafeRawBufferPointer
    var target: UnsafeRawBufferPointer
    var proto: StaticString
    var referer: UnsafeRawBufferPointer?
    var userAgent: UnsafeRawBufferPointer?
    var status: Int
    var bytesToClient: UInt64
    var durationNanoseconds: UInt64
    /// The route, arm and revision (`AccessLogFragment.arm`), kept alive by the request's route (or static).
    var arm: AccessLogText
    /// The endpoint (`host:port` as configured), nil when none was chosen; kept alive by its pool.
    var upstream: AccessLogText?
    /// The failure's source (`FailureKind.label`) or the proxy's refusal reason; nil when none.
    var failure: String?

    /// nginx's status for a request whose client went away before its response was complete.
    static let abortStatus = 499

    func write(_ format: AccessLogConfig.Format, time: AccessLogSecondText, into line: inout AccessLogLine) {
        switch format {
        case .json: writeJSON(time: time, into: &line)
        case .combined: writeCombined(time: time, into: &line)
        }
    }

    /// `{"time":"2026-12-06T16:02:21.123Z","client":"…",…}` and a newline; absent strings are "-".
    func writeJSON(time: AccessLogSecondText, into line: inout AccessLogLine) {
        line.text("{\"time\":\"")
        time.writeRFC3339(milliseconds: Int(unixMilliseconds % 1000), into: &line)
        line.text("\",\"client\":\"")
        line.jsonEscaped(client, budget: AccessLogLine.Budget.client)
        line.text("\",\"method\":\"")
        jsonOrDash(method.isEmpty ? nil : method, budget: AccessLogLine.Budget.method, into: &line)
        line.text("\",\"path\":\"")
        jsonOrDash(method.isEmpty ? nil : target, budget: AccessLogLine.Budget.target, into: &line)
        line.text("\",\"protocol\":\"")
        line.text(proto)
        line.text("\",\"status\":")
        line.decimal(UInt64(status))
        line.text(",\"bytes\":")
        line.decimal(bytesToClient)
        line.text(",\"duration_ms\":")
        line.milliseconds(nanoseconds: durationNanoseconds)
        line.text(",\"route\":\"")
        line.raw(arm.json)
        line.text("\",\"upstream\":\"")
        fragmentOrDash(upstream?.json, into: &line)
        line.text("\",\"failure\":\"")
        line.nameOrDash(failure, json: true)
        line.text("\",\"referer\":\"")
        jsonOrDash(referer, budget: AccessLogLine.Budget.header, into: &line)
        line.text("\",\"user_agent\":\"")
        jsonOrDash(userAgent, budget: AccessLogLine.Budget.header, into: &line)
        line.text("\"}\n")
    }

    /// `$remote_addr - - [$time_local] "$request" $status $bytes "$http_referer" "$http_user_agent"`
    /// then ` route=… arm=… rev=… upstream=… duration=… failure=…` and a newline.
    func writeCombined(time: AccessLogSecondText, into line: inout AccessLogLine) {
        line.combinedEscaped(client, budget: AccessLogLine.Budget.client)
        line.text(" - - [")
        time.writeCommonLog(into: &line)
        line.text("] \"")
        if method.isEmpty {
            line.byte(UInt8(ascii: "-"))
        } else {
            line.combinedEscaped(method, budget: AccessLogLine.Budget.method)
            line.byte(UInt8(ascii: " "))
            line.combinedEscaped(target, budget: AccessLogLine.Budget.target)
            line.byte(UInt8(ascii: " "))
            line.text(proto)
        }
        line.text("\" ")
        line.decimal(UInt64(status))
        line.byte(UInt8(ascii: " "))
        line.decimal(bytesToClient)
        line.text(" \"")
        combinedOrDash(referer, into: &line)
        line.text("\" \"")
        combinedOrDash(userAgent, into: &line)
        line.text("\" route=")
        line.raw(arm.combined)
        line.text(" upstream=")
        fragmentOrDash(upstream?.combined, into: &line)
        line.text(" duration=")
        line.milliseconds(nanoseconds: durationNanoseconds)
        line.text(" failure=")
        line.nameOrDash(failure, json: false)
        line.byte(UInt8(ascii: "\n"))
    }

    private func fragmentOrDash(_ bytes: UnsafeRawBufferPointer?, into line: inout AccessLogLine) {
        if let bytes { line.raw(bytes) } else { line.byte(UInt8(ascii: "-")) }
    }

    @inline(__always)
    private func jsonOrDash(_ bytes: UnsafeRawBufferPointer?, budget: Int, into line: inout AccessLogLine) {
        if let bytes, !bytes.isEmpty { line.jsonEscaped(bytes, budget: budget) } else { line.byte(UInt8(ascii: "-")) }
    }

    private func combinedOrDash(_ bytes: UnsafeRawBufferPointer?, into line: inout AccessLogLine) {
        if let bytes, !bytes.isEmpty {
            line.combinedEscaped(bytes, budget: AccessLogLine.Budget.header)
        } else {
            line.byte(UInt8(ascii: "-"))
        }
    }
}
