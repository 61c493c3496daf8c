// The JSON a replica publishes under its etcd key: who it is, what it runs, its evidence and its alarms.
import Foundation
import Rollout
import Telemetry

/// The value of `P/fleet/replicas/<replica>`, bound to the replica's lease: the leader reads every
/// replica's record to merge their evidence, check that they run the same revisions, and hear their alarms.
public struct ReplicaRecord: Sendable, Equatable {
    /// The record layout written in `v`; any other is refused.
    public static let version = 1

    public var replica: String
    /// Random hex per process start: a new one tells the leader the replica's counters restarted at 0.
    public var incarnation: String
    /// `ConfigFingerprint.hash` of the replica's config.
    public var configHash: String
    /// Every managed route's revisions, by route name.
    public var revisions: [String: RouteRevisions]
    /// `EvidenceCodec.encode` of the replica's cumulative counters since its process started (base64 in
    /// the JSON); decoded only when the leader merges it (`routes()`).
    public var evidence: [UInt8]
    public var alarms: [ReplicaAlarm]
    /// The replica's admin address (`host:port`), for operators following a fleet's /status.
    public var admin: String
    /// Unix time of publication, in seconds.
    public var publishedAt: Double

    public init(
        replica: String, incarnation: String, configHash: String, revisions: [String: RouteRevisions], evidence: [UInt8],
        alarms: [ReplicaAlarm] = [], admin: String, publishedAt: Double
    ) {
        self.replica = replica
        self.incarnation = incarnation
        self.configHash = configHash
        self.revisions = revisions
        self.evidence = evidence
        self.alarms = alarms
        self.admin = admin
        self.publishedAt = publishedAt
    }

    /// The counters in `evidence`.
    public func routes() throws(EvidenceDecodingError) -> [RouteSnapshot] { try EvidenceCodec.decode(evidence) }

    /// This record as the leader's `EvidenceMerger` takes it.
    public func replicaEvidence() throws(EvidenceDecodingError) -> ReplicaEvidence {
        ReplicaEvidence(replica: replica, incarnation: incarnation, routes: try routes())
    }

    /// A fresh `incarnation`: 16 random hex digits, drawn once per process start.
    public static func randomIncarnation() -> String {
        StableDigest.hex16(UInt64.random(in: .min ... .max))
    }

    /// The JSON text, keys sorted (two records with the same content are the same bytes).
    public func encode() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Strings, finite numbers (a clock gone wrong writes "nan"), arrays and maps of those: nothing can fail.
        return Array(try! encoder.encode(self))
    }

    public static func decode(_ bytes: [UInt8]) throws(ReplicaRecordError) -> ReplicaRecord {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do {
            return try decoder.decode(ReplicaRecord.self, from: Data(bytes))
        } catch let error as ReplicaRecordError {
            throw error
        } catch let DecodingError.dataCorrupted(context) {
            throw .malformed(Self.describe(context))
        } catch let DecodingError.keyNotFound(key, context) {
            throw .malformed("missing \(Self.path(context.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw .malformed(Self.describe(context))
        } catch {
            throw .malformed("\(error)")
        }
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        context.codingPath.isEmpty ? context.debugDescription : "\(path(context.codingPath)): \(context.debugDescription)"
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

extension ReplicaRecord: Codable {
    private enum CodingKeys: String, CodingKey {
        case v, replica, incarnation, configHash, revisions, evidence, alarms, admin, publishedAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decode(Int.self, forKey: .v)
        guard version == Self.version else { throw ReplicaRecordError.unsupportedVersion(version) }
        let base64 = try container.decode(String.self, forKey: .evidence)
        guard let evidence = Data(base64Encoded: base64) else {
            throw DecodingError.dataCorruptedError(forKey: .evidence, in: container, debugDescription: "not base64")
        }
        self.init(
            replica: try container.decode(String.self, forKey: .replica),
            incarnation: try container.decode(String.self, forKey: .incarnation),
            configHash: try container.decode(String.self, forKey: .configHash),
            revisions: try container.decode([String: RouteRevisions].self, forKey: .revisions),
            evidence: Array(evidence),
            alarms: try container.decode([ReplicaAlarm].self, forKey: .alarms),
            admin: try container.decode(String.self, forKey: .admin),
            publishedAt: try container.decode(Double.self, forKey: .publishedAt))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.version, forKey: .v)
        try container.encode(replica, forKey: .replica)
        try container.encode(incarnation, forKey: .incarnation)
        try container.encode(configHash, forKey: .configHash)
        try container.encode(revisions, forKey: .revisions)
        try container.encode(Data(evidence).base64EncodedString(), forKey: .evidence)
        try container.encode(alarms, forKey: .alarms)
        try container.encode(admin, forKey: .admin)
        try container.encode(publishedAt, forKey: .publishedAt)
    }
}

/// Something a replica saw that the leader must act on even if the merged evidence does not show it
/// yet, e.g. a dead canary (every request to it failing) on this replica.
public struct ReplicaAlarm: Sendable, Hashable, Codable {
    public var route: String
    /// The canary revision the alarm is about (an alarm about an older rollout's canary is stale).
    public var revision: String
    /// The rollout of that revision it is about (a `retry` is a new one, which a stale alarm must not roll back).
    public var rolloutNumber: Int?
    public var reason: String

    public init(route: String, revision: String, rolloutNumber: Int? = nil, reason: String) {
        self.route = route
        self.revision = revision
        self.rolloutNumber = rolloutNumber
        self.reason = reason
    }
}

/// Why bytes are not a replica record.
public enum ReplicaRecordError: Error, Equatable, CustomStringConvertible {
    /// `v` is not `ReplicaRecord.version`: a replica of another Canarygate version.
    case unsupportedVersion(Int)
    /// Not JSON, or a field missing or of the wrong type (named by its path).
    case malformed(String)

    public var description: String {
        switch self {
        case .unsupportedVersion(let version):
            "replica record: unsupported version \(version) (this replica reads \(ReplicaRecord.version))"
        case .malformed(let reason): "replica record: \(reason)"
        }
    }
}
