// The time of an access-log line: wall-clock milliseconds from the loop's monotonic clock, as RFC 3339 or nginx's $time_local.
import EventLoop
import Glibc

/// A moment split into UTC calendar fields, computed once per second and reused for every line of it.
struct CivilTime: Equatable {
    var year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0

    /// The UTC calendar fields of a Unix time.
    init(unixSeconds: Int64) {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondOfDay = Int(unixSeconds - days * 86_400)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        second = secondOfDay % 60
        let date = CivilDate(daysSinceEpoch: days)
        (year, month, day) = (Int(date.year), Int(date.month), Int(date.day))
    }

    private static let monthNames: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"

    /// `2026-12-06T16:02:21` (a line adds the milliseconds: `AccessLogSecondText`).
    func writeRFC3339Seconds(into line: inout AccessLogLine) {
        line.padded(year, width: 4)
        line.byte(UInt8(ascii: "-"))
        line.padded(month, width: 2)
        line.byte(UInt8(ascii: "-"))
        line.padded(day, width: 2)
        line.byte(UInt8(ascii: "T"))
        writeClock(into: &line)
    }

    /// nginx's `$time_local` in UTC: `06/Dec/2026:16:02:21 +0000`.
    func writeCommonLog(into line: inout AccessLogLine) {
        line.padded(day, width: 2)
        line.byte(UInt8(ascii: "/"))
        for i in 0..<3 { line.byte(Self.monthNames.utf8Start[(month - 1) * 3 + i]) }
        line.byte(UInt8(ascii: "/"))
        line.padded(year, width: 4)
        line.byte(UInt8(ascii: ":"))
        writeClock(into: &line)
        line.text(" +0000")
    }

    private func writeClock(into line: inout AccessLogLine) {
        line.padded(hour, width: 2)
        line.byte(UInt8(ascii: ":"))
        line.padded(minute, width: 2)
        line.byte(UInt8(ascii: ":"))
        line.padded(second, width: 2)
    }
}

/// The text of one second in both formats, written once per second and copied into every line of it.
final class AccessLogSecondText {
    private let storage = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    private var rfc3339Count = 0
    private var commonLogCount = 0

    init(_ civil: CivilTime = CivilTime(unixSeconds: 0)) { set(civil) }

    deinit { storage.deallocate() }

    /// `2026-12-06T16:02:21` and `06/Dec/2026:16:02:21 +0000`.
    func set(_ civil: CivilTime) {
        var line = AccessLogLine(base: storage)
        civil.writeRFC3339Seconds(into: &line)
        rfc3339Count = line.count
        line = AccessLogLine(base: storage + 32)
        civil.writeCommonLog(into: &line)
        commonLogCount = line.count
    }

    /// `2026-12-06T16:02:21.123Z`.
    func writeRFC3339(milliseconds: Int, into line: inout AccessLogLine) {
        line.raw(UnsafeRawBufferPointer(start: storage, count: rfc3339Count))
        line.byte(UInt8(ascii: "."))
        line.threeDigits(milliseconds)
        line.byte(UInt8(ascii: "Z"))
    }

    func writeCommonLog(into line: inout AccessLogLine) {
        line.raw(UnsafeRawBufferPointer(start: storage + 32, count: commonLogCount))
    }
}

/// The loop's clock for log lines: the loop's cached monotonic time plus the offset to the wall clock,
/// re-read once per second of log time (so a stepped wall clock shows within a second, and a line costs
/// no clock read), and the second's text.
struct AccessLogClock {
    private var offsetNanoseconds: Int64 = 0
    private var currentSecond: Int64 = .min
    let text = AccessLogSecondText()

    /// The Unix time in milliseconds at monotonic `now`; `text` then holds its second.
    mutating func unixMilliseconds(now: UInt64) -> Int64 {
        var ms = (Int64(bitPattern: now) &+ offsetNanoseconds) / 1_000_000
        if ms / 1000 != currentSecond {
            offsetNanoseconds = Self.wallMinusMonotonic()
            ms = (Int64(bitPattern: now) &+ offsetNanoseconds) / 1_000_000
            currentSecond = ms / 1000
            text.set(CivilTime(unixSeconds: currentSecond))
        }
        return ms
    }

    private static func wallMinusMonotonic() -> Int64 {
        var wall = timespec()
        var mono = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return (Int64(wall.tv_sec) - Int64(mono.tv_sec)) * 1_000_000_000 + (Int64(wall.tv_nsec) - Int64(mono.tv_nsec))
    }
}
