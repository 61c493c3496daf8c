// A replica's etcd record: its JSON round trip, the evidence inside it, and refusals that say what is wrong.
import Cluster
import Foundation
import Telemetry
import Testing

@Suite struct ReplicaRecordTests {
    static func record(
        evidence routes: [RouteSnapshot] = [RouteSnapshot(name: "api", canary: ArmSnapshot(requestsByStatus: [503: 2]))]
    )
        -> ReplicaRecord
    {
        ReplicaRecord(
            replica: "ingress-a", incarnation: "9f86d081884c7d65", configHash: "00ff00ff00ff00ff",
            revisions: ["api": RouteRevisions(primary: "v1", canary: "v2")], evidence: EvidenceCodec.encode(routes),
            alarms: [ReplicaAlarm(route: "api", revision: "v2", reason: "dead canary: 20 of 20 requests failed")],
            admin: "127.0.0.1:9901", publishedAt: 1_796_000_000.25)
    }

    @Test func roundTripsThroughItsJSON() throws {
        let record = Self.record()
        #expect(try ReplicaRecord.decode(record.encode()) == record)
        #expect(try ReplicaRecord.decode(record.encode()).routes() == record.routes())
        #expect(try record.routes().first?.canary.requests(status: 503) == 2)
    }

    @Test func theJSONHasTheContractsFieldsWithTheEvidenceInBase64() throws {
        let record = Self.record()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(record.encode())) as? [String: Any])
        #expect(
            Set(object.keys) == ["v", "replica", "incarnation", "configHash", "revisions", "evidence", "alarms", "admin", "publishedAt"])
        #expect(object["v"] as? Int == 1)
        #expect((object["revisions"] as? [String: [String: String]])?["api"] == ["primary": "v1", "canary": "v2"])
        #expect(object["evidence"] as? String == Data(record.evidence).base64EncodedString())
        #expect((object["alarms"] as? [[String: String]])?.first?["reason"] == "dead canary: 20 of 20 requests failed")
        #expect(object["publishedAt"] as? Double == 1_796_000_000.25)
    }

    @Test func theSameContentIsTheSameBytes() {
        var a = Self.record()
        a.revisions["web"] = RouteRevisions(primary: "w1", canary: "w2")
        var b = Self.record()
        b.revisions = ["web": RouteRevisions(primary: "w1", canary: "w2"), "api": RouteRevisions(primary: "v1", canary: "v2")]
        #expect(a.encode() == b.encode())
    }

    @Test func anotherVersionIsRefused() throws {
        let text = String(decoding: Self.record().encode(), as: UTF8.self).replacingOccurrences(of: "\"v\":1", with: "\"v\":2")
        #expect(throws: ReplicaRecordError.unsupportedVersion(2)) { try ReplicaRecord.decode(Array(text.utf8)) }
    }

    @Test func malformedRecordsNameTheProblem() throws {
        #expect(throws: ReplicaRecordError.self) { try ReplicaRecord.decode(Array("not json".utf8)) }
        let json = String(decoding: Self.record().encode(), as: UTF8.self)
        let withoutHash = json.replacingOccurrences(of: "\"configHash\":\"00ff00ff00ff00ff\",", with: "")
        #expect(throws: ReplicaRecordError.malformed("missing configHash")) { try ReplicaRecord.decode(Array(withoutHash.utf8)) }
        let notBase64 = json.replacingOccurrences(of: "\"evidence\":\"", with: "\"evidence\":\"*")
        #expect(throws: ReplicaRecordError.malformed("evidence: not base64")) { try ReplicaRecord.decode(Array(notBase64.utf8)) }
        let wrongType = json.replacingOccurrences(of: "\"admin\":\"127.0.0.1:9901\"", with: "\"admin\":9901")
        let error = #expect(throws: ReplicaRecordError.self) { try ReplicaRecord.decode(Array(wrongType.utf8)) }
        #expect(error?.description.hasPrefix("replica record: admin") == true)
    }

    @Test func theRecordIsWhatTheMergerTakes() throws {
        let record = Self.record()
        #expect(
            try record.replicaEvidence() == ReplicaEvidence(replica: "ingress-a", incarnation: "9f86d081884c7d65", routes: record.routes()))
    }

    @Test func incarnationsAreSixteenHexDigitsAndDiffer() {
        let drawn = (0..<100).map { _ in ReplicaRecord.randomIncarnation() }
        #expect(drawn.allSatisfy { $0.count == 16 && $0.allSatisfy(\.isHexDigit) })
        #expect(Set(drawn).count == drawn.count)
    }

    @Test func evidenceThatDoesNotDecodeIsTheCodecsError() {
        var record = Self.record()
        record.evidence = [EvidenceCodec.version, 1]
        #expect(throws: EvidenceDecodingError.countTooLarge(1)) { try record.routes() }
    }
}
