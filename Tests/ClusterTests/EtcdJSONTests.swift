// The etcd gateway's JSON both ways: requests encoded as etcd reads them, answers decoded with proto3's omitted defaults.
import Foundation
import Testing

@testable import Cluster

@Suite struct EtcdJSONTests {
    private static func decode(_ text: String) throws -> [String: Any] { try EtcdResponses.object(Array(text.utf8)) }

    private static func roundTrip(_ request: [String: Any]) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(EtcdRequests.encode(request))) as? [String: Any])
    }

    // MARK: - Answers

    @Test func aKeyValueHasBase64BytesAndInt64sAsStrings() throws {
        let range = try EtcdResponses.range(
            Self.decode(
                """
                {"header":{"cluster_id":"7801232528081817440","revision":"9223372036854775807"},
                 "kvs":[{"key":"L2EvYg==","create_revision":"4","mod_revision":"7","version":"3","value":"AP8=","lease":"5007618281204632838"}],
                 "count":"1"}
                """))
        #expect(range.revision == Int64.max)
        #expect(
            range.kvs == [
                EtcdKeyValue(key: "/a/b", value: [0, 255], createRevision: 4, modRevision: 7, version: 3, lease: 5_007_618_281_204_632_838)
            ])
    }

    @Test func absentFieldsReadAsZero() throws {
        // A range that found nothing has no kvs; a key without a lease has no lease; an empty value no value.
        #expect(try EtcdResponses.range(Self.decode(#"{"header":{"revision":"3"}}"#)) == EtcdRange(revision: 3, kvs: []))
        let kv = try EtcdResponses.keyValue(Self.decode(#"{"key":"eA==","mod_revision":"2"}"#))
        #expect(kv == EtcdKeyValue(key: "x", value: [], createRevision: 0, modRevision: 2, version: 0, lease: 0))
        // A keep-alive of a lease that is gone: no TTL.
        #expect(try EtcdResponses.int64(EtcdResponses.firstStreamResult(Array(#"{"result":{"ID":"5"}}"#.utf8)), "TTL") == 0)
    }

    @Test func aFieldOfTheWrongTypeIsMalformed() {
        #expect(throws: EtcdError.self) { try EtcdResponses.keyValue(Self.decode(#"{"key":"eA==","mod_revision":"seven"}"#)) }
        #expect(throws: EtcdError.self) { try EtcdResponses.keyValue(Self.decode(#"{"key":"not base64!"}"#)) }
        #expect(throws: EtcdError.self) { try EtcdResponses.range(Self.decode(#"{"kvs":{"key":"eA=="}}"#)) }
        #expect(throws: EtcdError.self) { try EtcdResponses.object(Array("[1]".utf8)) }
        #expect(throws: EtcdError.self) { try EtcdResponses.lease(Self.decode(#"{"TTL":"2"}"#)) }
    }

    @Test func aLeaseGrantReadsItsIDAndTTL() throws {
        let lease = try EtcdResponses.lease(Self.decode(#"{"header":{"revision":"1"},"ID":"2324","TTL":"2"}"#))
        #expect(lease == EtcdLease(id: 2324, ttl: 2))
        #expect(throws: EtcdError.server(status: 200, message: "too many leases")) {
            try EtcdResponses.lease(Self.decode(#"{"ID":"0","error":"too many leases"}"#))
        }
    }

    @Test func etcdsErrorJSONBecomesAServerError() {
        let body = Array(
            #"{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}"#.utf8)
        #expect(
            EtcdResponses.serverError(status: 404, body: body) == .server(status: 404, message: "etcdserver: requested lease not found"))
        #expect(EtcdResponses.serverError(status: 502, body: Array("Bad Gateway".utf8)) == .server(status: 502, message: "Bad Gateway"))
        let streamError = Array(
            #"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#.utf8)
        #expect(throws: EtcdError.server(status: 503, message: "etcdserver: no leader")) { try EtcdResponses.streamResult(streamError) }
    }

    @Test func aTxnResultKeepsItsRangeAnswersInOrder() throws {
        let failed = try EtcdResponses.txn(
            Self.decode(
                """
                {"header":{"revision":"4"},"responses":[
                  {"response_range":{"header":{"revision":"4"},"kvs":[{"key":"bA==","create_revision":"2","mod_revision":"2","version":"1","value":"YQ=="}]}},
                  {"response_delete_range":{"header":{"revision":"4"}}},
                  {"response_range":{"header":{"revision":"4"}}}]}
                """))
        #expect(!failed.succeeded && failed.revision == 4)
        #expect(failed.ranges.map(\.kvs.count) == [1, 0])
        #expect(failed.ranges[0].kvs[0].value == Array("a".utf8))
        let won = try EtcdResponses.txn(Self.decode(#"{"header":{"revision":"5"},"succeeded":true,"responses":[{"response_put":{}}]}"#))
        #expect(won == EtcdTxnResult(succeeded: true, revision: 5, ranges: []))
    }

    // MARK: - Watch messages

    @Test func watchMessagesTellCreationEventsAndCancellation() throws {
        #expect(try EtcdWatchMessage.parse(Array(#"{"result":{"header":{"revision":"4"},"created":true}}"#.utf8)) == .created(revision: 4))
        let events = try EtcdWatchMessage.parse(
            Array(
                #"{"result":{"header":{"revision":"6"},"events":[{"kv":{"key":"eA==","mod_revision":"5","value":"MQ=="}},{"type":"DELETE","kv":{"key":"eA==","mod_revision":"6"}}]}}"#
                    .utf8))
        #expect(
            events
                == .events(
                    [
                        EtcdEvent(
                            kind: .put, kv: EtcdKeyValue(key: "x", value: [0x31], createRevision: 0, modRevision: 5, version: 0, lease: 0)),
                        EtcdEvent(
                            kind: .delete, kv: EtcdKeyValue(key: "x", value: [], createRevision: 0, modRevision: 6, version: 0, lease: 0)),
                    ], revision: 6))
        let compacted = Array(#"{"result":{"header":{"revision":"4"},"canceled":true,"compact_revision":"3"}}"#.utf8)
        #expect(try EtcdWatchMessage.parse(compacted) == .canceled(.compacted(revision: 3)))
        let canceled = Array(#"{"result":{"header":{},"canceled":true,"cancel_reason":"permission denied"}}"#.utf8)
        #expect(try EtcdWatchMessage.parse(canceled) == .canceled(.server(status: 200, message: "permission denied")))
        #expect(try EtcdWatchMessage.parse(Array(#"{"result":{"header":{"revision":"9"}}}"#.utf8)) == .progress(revision: 9))
        #expect(throws: EtcdError.self) { try EtcdWatchMessage.parse(Array(#"{"result":{"events":[{"type":"PATCH","kv":{}}]}}"#.utf8)) }
    }

    // MARK: - Requests

    @Test func aTxnEncodesItsComparesAndOperationsAsTheGatewayReadsThem() throws {
        let txn = EtcdTxn(
            compares: [.createRevision("/l", equals: 0), .modRevision("/s", equals: 12), .value("/l", equals: Array("me".utf8))],
            success: [.put("/l", Array("me".utf8), lease: 77), .delete("/d")],
            failure: [.range("/l", prefix: false), .range("/p/", prefix: true)])
        let json = try Self.roundTrip(EtcdRequests.txn(txn))
        let compares = try #require(json["compare"] as? [[String: String]])
        #expect(
            compares == [
                ["key": "L2w=", "target": "CREATE", "result": "EQUAL", "create_revision": "0"],
                ["key": "L3M=", "target": "MOD", "result": "EQUAL", "mod_revision": "12"],
                ["key": "L2w=", "target": "VALUE", "result": "EQUAL", "value": "bWU="],
            ])
        let success = try #require(json["success"] as? [[String: [String: String]]])
        #expect(success == [["request_put": ["key": "L2w=", "value": "bWU=", "lease": "77"]], ["request_delete_range": ["key": "L2Q="]]])
        let failure = try #require(json["failure"] as? [[String: [String: String]]])
        // "/p/" → range end "/p0".
        #expect(failure == [["request_range": ["key": "L2w="]], ["request_range": ["key": "L3Av", "range_end": "L3Aw"]]])
    }

    @Test func optionalFieldsAreLeftOutWhenUnset() throws {
        #expect(try Self.roundTrip(EtcdRequests.put("k", [], lease: nil)) as? [String: String] == ["key": "aw==", "value": ""])
        #expect(try Self.roundTrip(EtcdRequests.range("k", prefix: false, keysOnly: true))["keys_only"] as? Bool == true)
        let watch = try #require(
            try Self.roundTrip(EtcdRequests.watch("k", prefix: true, startRevision: 0))["create_request"] as? [String: String])
        #expect(watch == ["key": "aw==", "range_end": "bA=="])
        let from = try #require(
            try Self.roundTrip(EtcdRequests.watch("k", prefix: false, startRevision: 8))["create_request"] as? [String: String])
        #expect(from == ["key": "aw==", "start_revision": "8"])
    }
}
