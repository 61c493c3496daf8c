// The compact binary form of a replica's per-route counters, as it publishes them in its etcd record.
import Telemetry

/// Encodes `[RouteSnapshot]` (cumulative counters since the process started) exactly, in few bytes.
///
/// Layout, every integer an unsigned LEB128 varint unless said otherwise:
///
///     version (one byte, 1) · route count · routes
///     route:  name length · name (UTF-8) · primary arm · canary arm
///     arm:    field mask · the non-zero scalars, in `ScalarField` order (gauges zigzag-encoded)
///             · status count · (status step, count)…   statuses ascending, each a step from the previous (from 0)
///             · failure count · (FailureKind raw value, count)…   kinds ascending
///             · bucket run count · (index step, count)…   non-empty latency buckets, each a step from the previous
///
/// Only non-zero values are written, and a step from the previous key is small, so an idle arm costs
/// 4 bytes and a busy one a few bytes per status and per non-empty bucket. Measured by
/// `EvidenceCodecTests.aTypicalRouteIsAFewHundredBytes`: a route with 5 statuses, 2 failure kinds and
/// 30 non-empty buckets per arm, counts up to millions, takes about 320 bytes (430 in base64).
///
/// Decoding checks every count against the bytes left before it allocates, and a decoded arm holds a
/// dense histogram (13 KB) however few bytes encoded it, so the routes are capped at `maximumRoutes`:
/// hostile input costs at most its own size plus 26 KB per route. Anything malformed is an
/// `EvidenceDecodingError`, never a trap.
public enum EvidenceCodec {
    /// The layout version written in the first byte; any other is refused.
    public static let version: UInt8 = 1
    /// The most routes a decoder accepts (26 MB decoded). The leader judges managed routes only, so a
    /// replica publishes those; an encoding with more is refused, whole.
    public static let maximumRoutes = 1024

    public static func encode(_ routes: [RouteSnapshot]) -> [UInt8] {
        var writer = VarintWriter()
        writer.bytes.append(version)
        writer.write(UInt64(routes.count))
        for route in routes {
            let name = Array(route.name.utf8)
            writer.write(UInt64(name.count))
            writer.bytes.append(contentsOf: name)
            encode(route.primary, into: &writer)
            encode(route.canary, into: &writer)
        }
        return writer.bytes
    }

    /// The routes of `bytes`, in their encoded order; route names are unique.
    public static func decode(_ bytes: [UInt8]) throws(EvidenceDecodingError) -> [RouteSnapshot] {
        guard let first = bytes.first else { throw .truncated }
        guard first == version else { throw .unsupportedVersion(first) }
        var reader = VarintReader(bytes: bytes, position: 1)
        // The smallest route is a 1-byte name length and two 4-byte idle arms.
        let routeCount = try reader.readCount(minimumBytesEach: 9)
        guard routeCount <= maximumRoutes else { throw .tooManyRoutes(routeCount) }
        var routes: [RouteSnapshot] = []
        var names = Set<String>()
        for _ in 0..<routeCount {
            let nameLength = try reader.readCount(minimumBytesEach: 1)
            guard let name = String(validating: reader.take(nameLength), as: UTF8.self) else { throw .invalidRouteName }
            guard names.insert(name).inserted else { throw .duplicateRoute(name) }
            let primary = try decodeArm(&reader)
            let canary = try decodeArm(&reader)
            routes.append(RouteSnapshot(name: name, primary: primary, canary: canary))
        }
        guard reader.isAtEnd else { throw .trailingBytes(reader.remaining) }
        return routes
    }

    private static func encode(_ arm: ArmSnapshot, into writer: inout VarintWriter) {
        let scalars = ScalarField.values(of: arm)
        var mask: UInt64 = 0
        for (bit, value) in scalars.enumerated() where value != 0 { mask |= 1 << UInt64(bit) }
        writer.write(mask)
        for value in scalars where value != 0 { writer.write(value) }

        let statuses = arm.requestsByStatus.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        writer.write(UInt64(statuses.count))
        var previousStatus: UInt64 = 0
        for (status, count) in statuses {
            // Two's-complement steps wrap around, so even a negative status (the type allows it) round-trips.
            let bits = UInt64(bitPattern: Int64(status))
            writer.write(bits &- previousStatus)
            writer.write(count)
            previousStatus = bits
        }

        let failures = arm.failures.filter { $0.value != 0 }.sorted { $0.key.rawValue < $1.key.rawValue }
        writer.write(UInt64(failures.count))
        for (kind, count) in failures {
            writer.write(UInt64(kind.rawValue))
            writer.write(count)
        }

        let buckets = arm.histogram.counts.enumerated().filter { $0.element != 0 }
        writer.write(UInt64(buckets.count))
        var previousIndex = 0
        for (index, count) in buckets {
            writer.write(UInt64(index - previousIndex))
            writer.write(count)
            previousIndex = index
        }
    }

    private static func decodeArm(_ reader: inout VarintReader) throws(EvidenceDecodingError) -> ArmSnapshot {
        let mask = try reader.read()
        guard mask >> UInt64(ScalarField.count) == 0 else { throw .unknownFields(mask) }
        var scalars = [UInt64](repeating: 0, count: ScalarField.count)
        for bit in scalars.indices where mask & (1 << UInt64(bit)) != 0 {
            scalars[bit] = try reader.readNonZero()
        }

        var statuses: [Int: UInt64] = [:]
        var status: Int64 = 0
        let statusCount = try reader.readCount(minimumBytesEach: 2)
        for position in 0..<statusCount {
            let step = try reader.read()
            let next = Int64(bitPattern: UInt64(bitPattern: status) &+ step)
            guard position == 0 || next > status else { throw .outOfOrder }
            status = next
            statuses[Int(status)] = try reader.readNonZero()
        }

        var failures: [FailureKind: UInt64] = [:]
        var previousKind = -1
        let failureCount = try reader.readCount(minimumBytesEach: 2)
        for _ in 0..<failureCount {
            let raw = try reader.read()
            guard raw < UInt64(FailureKind.allCases.count), let kind = FailureKind(rawValue: Int(raw)) else {
                throw .unknownFailureKind(raw)
            }
            guard kind.rawValue > previousKind else { throw .outOfOrder }
            previousKind = kind.rawValue
            failures[kind] = try reader.readNonZero()
        }

        var counts = [UInt64](repeating: 0, count: LatencyBuckets.bucketCount)
        var index = 0
        let runCount = try reader.readCount(minimumBytesEach: 2)
        for position in 0..<runCount {
            let step = try reader.read()
            guard position == 0 || step > 0 else { throw .outOfOrder }
            guard step < UInt64(LatencyBuckets.bucketCount - index) else { throw .bucketOutOfRange }
            index += Int(step)
            counts[index] = try reader.readNonZero()
        }

        func scalar(_ field: ScalarField.Plain) -> UInt64 { scalars[field.rawValue] }
        return ArmSnapshot(
            requestsByStatus: statuses, otherStatusRequests: scalar(.otherStatusRequests), failures: failures,
            bytesFromClient: scalar(.bytesFromClient), bytesToClient: scalar(.bytesToClient),
            inFlight: Zigzag.decode(scalar(.inFlight)),
            histogram: HistogramSnapshot(counts: counts, sumNanoseconds: scalar(.histogramSumNanoseconds)),
            slowInFlight: scalar(.slowInFlight), slowMarkedAnswered: scalar(.slowMarkedAnswered),
            retriedFailures: scalar(.retriedFailures), retries: scalar(.retries), ejections: scalar(.ejections),
            tunnelsActive: Zigzag.decode(scalar(.tunnelsActive)), tunnelsEnded: scalar(.tunnelsEnded),
            tunnelDurationNanoseconds: scalar(.tunnelDurationNanoseconds),
            mirror: MirrorCounts(
                results: Array(scalars[ScalarField.mirrorResults]), mismatches: Array(scalars[ScalarField.mirrorMismatches]),
                mismatched: scalar(.mirrorMismatched)))
    }
}

/// Why bytes are not an `EvidenceCodec` encoding.
public enum EvidenceDecodingError: Error, Equatable, CustomStringConvertible {
    /// The bytes end inside a value (or there are none).
    case truncated
    case unsupportedVersion(UInt8)
    /// A varint longer than 64 bits.
    case varintOverflow
    /// A count of entries (or a name length) larger than the bytes left can hold.
    case countTooLarge(UInt64)
    case tooManyRoutes(Int)
    case invalidRouteName
    case duplicateRoute(String)
    /// Scalar field bits this version does not know.
    case unknownFields(UInt64)
    case unknownFailureKind(UInt64)
    /// Statuses, failure kinds or buckets not strictly ascending.
    case outOfOrder
    case bucketOutOfRange
    /// A zero written where only non-zero values are (the encoding leaves zeros out).
    case zeroValue
    case trailingBytes(Int)

    public var description: String {
        switch self {
        case .truncated: "evidence: truncated"
        case .unsupportedVersion(let version): "evidence: unsupported version \(version) (this replica reads \(EvidenceCodec.version))"
        case .varintOverflow: "evidence: a varint longer than 64 bits"
        case .countTooLarge(let count): "evidence: a count of \(count) is more than the remaining bytes can hold"
        case .tooManyRoutes(let count): "evidence: \(count) routes, more than \(EvidenceCodec.maximumRoutes)"
        case .invalidRouteName: "evidence: a route name is not UTF-8"
        case .duplicateRoute(let name): "evidence: route \(name) appears twice"
        case .unknownFields(let mask): "evidence: unknown fields in mask \(mask)"
        case .unknownFailureKind(let raw): "evidence: unknown failure kind \(raw)"
        case .outOfOrder: "evidence: entries not in ascending order"
        case .bucketOutOfRange: "evidence: a latency bucket past the last one"
        case .zeroValue: "evidence: a zero where only non-zero values are written"
        case .trailingBytes(let count): "evidence: \(count) bytes after the last route"
        }
    }
}

/// The single-value fields of an arm, in the order of the field mask's bits: the `Plain` fields, then
/// one per `MirrorResult`, then one per `MirrorMismatch`. A new field is appended (a new bit), never
/// inserted, and needs a new `EvidenceCodec.version`.
private enum ScalarField {
    enum Plain: Int, CaseIterable {
        case otherStatusRequests, bytesFromClient, bytesToClient, inFlight, histogramSumNanoseconds
        case slowInFlight, slowMarkedAnswered, retriedFailures, retries, ejections
        case tunnelsActive, tunnelsEnded, tunnelDurationNanoseconds, mirrorMismatched
    }

    static let mirrorResults = Plain.allCases.count..<Plain.allCases.count + MirrorResult.allCases.count
    static let mirrorMismatches = mirrorResults.upperBound..<mirrorResults.upperBound + MirrorMismatch.allCases.count
    static let count = mirrorMismatches.upperBound

    static func values(of arm: ArmSnapshot) -> [UInt64] {
        Plain.allCases.map { $0.value(of: arm) } + MirrorResult.allCases.map { arm.mirror[$0] }
            + MirrorMismatch.allCases.map { arm.mirror[$0] }
    }
}

extension ScalarField.Plain {
    func value(of arm: ArmSnapshot) -> UInt64 {
        switch self {
        case .otherStatusRequests: arm.otherStatusRequests
        case .bytesFromClient: arm.bytesFromClient
        case .bytesToClient: arm.bytesToClient
        case .inFlight: Zigzag.encode(arm.inFlight)
        case .histogramSumNanoseconds: arm.histogram.sumNanoseconds
        case .slowInFlight: arm.slowInFlight
        case .slowMarkedAnswered: arm.slowMarkedAnswered
        case .retriedFailures: arm.retriedFailures
        case .retries: arm.retries
        case .ejections: arm.ejections
        case .tunnelsActive: Zigzag.encode(arm.tunnelsActive)
        case .tunnelsEnded: arm.tunnelsEnded
        case .tunnelDurationNanoseconds: arm.tunnelDurationNanoseconds
        case .mirrorMismatched: arm.mirror.mismatched
        }
    }
}

/// Signed gauges as unsigned varints: 0, -1, 1, -2… become 0, 1, 2, 3…, so small negatives stay small.
private enum Zigzag {
    static func encode(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    static func decode(_ value: UInt64) -> Int64 { Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1))) }
}

private struct VarintWriter {
    var bytes: [UInt8] = []

    /// Unsigned LEB128: seven bits a byte, least significant first, the high bit set on all but the last.
    mutating func write(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}

private struct VarintReader {
    let bytes: [UInt8]
    var position: Int

    var remaining: Int { bytes.count - position }
    var isAtEnd: Bool { position == bytes.count }

    mutating func read() throws(EvidenceDecodingError) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: UInt64(0), to: 64, by: 7) {
            guard position < bytes.count else { throw .truncated }
            let byte = bytes[position]
            position += 1
            // The tenth byte holds bit 63 only.
            guard shift < 63 || byte <= 1 else { throw .varintOverflow }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
        }
        throw .varintOverflow
    }

    mutating func readNonZero() throws(EvidenceDecodingError) -> UInt64 {
        let value = try read()
        guard value != 0 else { throw .zeroValue }
        return value
    }

    /// A count of entries that each take at least `minimumBytesEach` bytes: refused when the bytes left
    /// cannot hold them, which bounds every allocation and loop by the input's size.
    mutating func readCount(minimumBytesEach: Int) throws(EvidenceDecodingError) -> Int {
        let count = try read()
        guard count <= UInt64(remaining / minimumBytesEach) else { throw .countTooLarge(count) }
        return Int(count)
    }

    /// The next `count` bytes; `count` was checked by `readCount`.
    mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        defer { position += count }
        return bytes[position..<position + count]
    }
}
