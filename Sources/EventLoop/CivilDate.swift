// The UTC calendar date of a day count from 1970-01-01, for the timestamps the access log and notifications write.

/// Proleptic Gregorian calendar: whole 400-year eras of 146,097 days, then the day within the era, counted
/// from March so that a leap day ends its year (Howard Hinnant's public-domain `civil_from_days`).
public struct CivilDate: Equatable, Sendable {
    public let year: Int64
    public let month: Int64
    public let day: Int64

    public init(daysSinceEpoch: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }
}
