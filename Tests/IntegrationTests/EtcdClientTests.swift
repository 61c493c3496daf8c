// Canarygate's etcd client against a real etcd: leases, keys, the election and CAS transactions, watches, failover, TLS.
import Cluster
import Config
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite("etcd client", .enabled(if: EtcdServer.isAvailable, "needs /usr/bin/etcd"))
    struct EtcdClientTests {
        private static func client(_ server: EtcdServer, timeout: Duration = .seconds(2)) -> EtcdClient {
            EtcdClient(endpoints: [server.endpoint], tls: server.clientTLS, requestTimeout: timeout)
        }

        @Test func aLeaseKeepsItsKeysWhileKeptAliveAndTheyVanishWhenItExpires() throws {
            try withEtcd { server in
                let client = Self.client(server)
                let lease = try client.grantLease(ttlSeconds: 2).get()
                #expect(lease.ttl == 2 && lease.id != 0)
                _ = try client.put("/t/alive", Array("1".utf8), lease: lease.id).get()
                #expect(try client.keepAlive(lease: lease.id).get() == 2)
                let bound = try client.range("/t/alive").get()
                #expect(bound.kvs.map(\.lease) == [lease.id])

                // Not kept alive any more: gone within the TTL (plus etcd's expiry sweep), then keepAlive says 0.
                let started = Date()
                #expect(Posix.waitUntil(timeout: 6) { (try? client.range("/t/alive").get().kvs.isEmpty) == true })
                #expect(Date().timeIntervalSince(started) >= 1, "the key went before its lease's TTL")
                #expect(try client.keepAlive(lease: lease.id).get() == 0)

                // Revoked: its keys go at once; a second revoke is etcd's "not found".
                let second = try client.grantLease(ttlSeconds: 30).get()
                _ = try client.put("/t/revoked", [1], lease: second.id).get()
                try client.revoke(lease: second.id).get()
                #expect(try client.range("/t/revoked").get().kvs.isEmpty)
                guard case .failure(.server(let status, let message)) = client.revoke(lease: second.id) else {
                    Issue.record("a second revoke succeeded")
                    return
                }
                #expect(status == 404 && message.contains("lease not found"), "\(message)")
            }
        }

        @Test func putRangeByPrefixAndDelete() throws {
            try withEtcd { server in
                let client = Self.client(server)
                let first = try client.put("/t/a", Array("alpha".utf8)).get()
                let second = try client.put("/t/b", [0, 1, 255]).get()
                _ = try client.put("/tx", Array("outside".utf8)).get()
                #expect(second == first + 1)

                let range = try client.range("/t/", prefix: true).get()
                #expect(range.kvs.map(\.key) == ["/t/a", "/t/b"])
                #expect(range.kvs.map(\.value) == [Array("alpha".utf8), [0, 1, 255]])
                #expect(range.kvs[0].createRevision == first && range.kvs[0].modRevision == first && range.kvs[0].version == 1)
                #expect(range.revision == second + 1)
                #expect(try client.range("/t/", prefix: true, keysOnly: true).get().kvs.map(\.value) == [[], []])
                #expect(try client.range("/t/missing").get().kvs.isEmpty)

                let deleted = try client.delete("/t/", prefix: true).get()
                #expect(deleted == range.revision + 1)
                #expect(try client.range("/t/", prefix: true).get().kvs.isEmpty)
                #expect(try client.range("/tx").get().kvs.count == 1)
                #expect(client.traffic.requests(.put) == 3 && client.traffic.requests(.range) == 5 && client.traffic.requests(.delete) == 1)
                #expect(
                    client.traffic.bytesSent > 0 && client.traffic.bytesReceived > client.traffic.bytesSent && client.traffic.errors == 0)
            }
        }

        @Test func exactlyOneOfTwoRacingCandidatesWinsTheElection() throws {
            try withEtcd { server throws in
                let leader = "/canarygate/shop/control/leader"
                let outcomes = Guarded<[String: EtcdTxnResult]>([:])
                let start = DispatchSemaphore(value: 0)
                let group = DispatchGroup()
                for name in ["a", "b"] {
                    let endpoint = server.endpoint
                    DispatchQueue.global().async(group: group) {
                        let client = EtcdClient(endpoints: [endpoint], tls: nil, requestTimeout: .seconds(2))
                        guard case .success(let lease) = client.grantLease(ttlSeconds: 5) else { return }
                        start.wait()
                        let txn = EtcdTxn(
                            compares: [.createRevision(leader, equals: 0)], success: [.put(leader, Array(name.utf8), lease: lease.id)],
                            failure: [.range(leader, prefix: false)])
                        if case .success(let result) = client.txn(txn) { outcomes.withValue { $0[name] = result } }
                    }
                }
                start.signal()
                start.signal()
                #expect(group.wait(timeout: .now() + 10) == .success)
                let results = outcomes.value
                #expect(results.count == 2)
                let winners = results.filter { $0.value.succeeded }.map(\.key)
                #expect(winners.count == 1, "\(results)")
                guard let winner = winners.first, let loser = results.first(where: { !$0.value.succeeded }) else { return }
                #expect(loser.value.ranges.first?.kvs.map(\.value) == [Array(winner.utf8)])
                #expect(try Self.client(server).range(leader).get().kvs.map(\.value) == [Array(winner.utf8)])
            }
        }

        @Test func compareAndSwapOnTheModRevision() throws {
            try withEtcd { server in
                let client = Self.client(server)
                let written = try client.put("/s", Array("v1".utf8)).get()
                let swap = { (seen: Int64, value: String) in
                    EtcdTxn(
                        compares: [.modRevision("/s", equals: seen)], success: [.put("/s", Array(value.utf8), lease: nil)],
                        failure: [.range("/s", prefix: false)])
                }
                let won = try client.txn(swap(written, "v2")).get()
                #expect(won.succeeded && won.revision == written + 1 && won.ranges.isEmpty)
                // A writer that still holds the old revision loses and learns the current value.
                let lost = try client.txn(swap(written, "v3")).get()
                #expect(!lost.succeeded && lost.revision == won.revision)
                #expect(lost.ranges.first?.kvs.map(\.value) == [Array("v2".utf8)])
                #expect(lost.ranges.first?.kvs.first?.modRevision == won.revision)
                // A value compare, as the leader's check that it still leads.
                let mine = EtcdTxn(compares: [.value("/s", equals: Array("v2".utf8))], success: [.delete("/s")])
                #expect(try client.txn(mine).get().succeeded)
                #expect(try client.range("/s").get().kvs.isEmpty)
            }
        }

        @Test func aWatchDeliversPutsAndDeletesInOrderFromItsRevisionAndEndsWhenEtcdDies() throws {
            try withEtcd { server in
                let client = Self.client(server)
                let start = try client.put("/w/a", Array("1".utf8)).get()
                _ = try client.put("/w/a", Array("2".utf8)).get()
                _ = try client.delete("/w/a").get()
                _ = try client.put("/other", [1]).get()

                let events = Guarded<[EtcdEvent]>([])
                let ended = Guarded<EtcdError?>(nil)
                let watch = EtcdWatch.start(
                    endpoints: [server.endpoint], tls: nil, key: "/w/", prefix: true, startRevision: start, traffic: client.traffic,
                    onEvents: { batch, _ in events.withValue { $0 += batch } }, onEnd: { error in ended.withValue { $0 = error } })
                defer { watch.cancel() }
                #expect(Posix.waitUntil(timeout: 5) { events.value.count == 3 })
                _ = try client.put("/w/b", Array("live".utf8)).get()
                #expect(Posix.waitUntil(timeout: 5) { events.value.count == 4 })
                let seen = events.value
                #expect(seen.map(\.kind) == [.put, .put, .delete, .put])
                #expect(seen.map(\.kv.key) == ["/w/a", "/w/a", "/w/a", "/w/b"])
                #expect(seen.map(\.kv.value) == [Array("1".utf8), Array("2".utf8), [], Array("live".utf8)])
                #expect(seen.map(\.kv.modRevision) == [start, start + 1, start + 2, start + 4])
                #expect(ended.value == nil)
                #expect(client.traffic.requests(.watch) == 1)

                server.kill()
                #expect(Posix.waitUntil(timeout: 3) { ended.value != nil }, "the watch did not notice etcd's death")
                guard case .unreachable = ended.value else {
                    Issue.record("ended with \(String(describing: ended.value))")
                    return
                }
            }
        }

        @Test func aCancelledWatchStopsAtOnceAndNeverCallsBack() throws {
            try withEtcd { server in
                let client = Self.client(server)
                let calls = Guarded(0)
                // From the revision after now, so the put below is seen even if it lands before the watch is created.
                let from = try client.range("/c").get().revision + 1
                let watch = client.watch(
                    "/c", startRevision: from, onEvents: { _, _ in calls.withValue { $0 += 1 } },
                    onEnd: { _ in calls.withValue { $0 += 100 } })
                _ = try client.put("/c", [1]).get()
                #expect(Posix.waitUntil(timeout: 5) { calls.value == 1 })
                let before = Date()
                watch.cancel()
                #expect(Date().timeIntervalSince(before) < 0.5)
                _ = try client.put("/c", [2]).get()
                server.kill()
                usleep(200_000)  // time for a wrongly delivered event or end to arrive
                #expect(calls.value == 1)
            }
        }

        @Test func aCompactedStartRevisionEndsTheWatchWithItsOwnError() throws {
            try withEtcd { server in
                let client = Self.client(server)
                var last: Int64 = 0
                for value in 0..<4 { last = try client.put("/k", [UInt8(value)]).get() }
                let compacted = try server.etcdctl(["compaction", String(last)])
                #expect(compacted.status == 0, "\(compacted.stderr)")
                let ended = Guarded<EtcdError?>(nil)
                let watch = EtcdWatch.start(
                    endpoints: [server.endpoint], tls: nil, key: "/k", prefix: false, startRevision: 1, traffic: client.traffic,
                    onEvents: { _, _ in }, onEnd: { error in ended.withValue { $0 = error } })
                defer { watch.cancel() }
                #expect(Posix.waitUntil(timeout: 5) { ended.value != nil })
                #expect(ended.value == .compacted(revision: last))
            }
        }

        @Test func aRestartedEtcdIsReconnectedToOnTheNextRequest() throws {
            try withEtcd { server in
                let client = Self.client(server)
                let written = try client.put("/r", Array("kept".utf8)).get()
                server.kill()
                try server.restart()
                // The kept-alive connection is dead: the request goes again on a new one, and succeeds.
                let range = try client.range("/r").get()
                #expect(range.kvs.map(\.value) == [Array("kept".utf8)] && range.kvs.first?.modRevision == written)
                #expect(client.traffic.errors == 0)
            }
        }

        @Test func aClosedFirstEndpointFailsOverToTheNextAndStaysThere() throws {
            try withEtcd { server in
                let closed = try Posix.freePort()
                let dead = EtcdEndpoint(secure: false, host: "127.0.0.1", port: closed)
                let client = EtcdClient(endpoints: [dead, server.endpoint], tls: nil, requestTimeout: .seconds(2))
                #expect(try client.put("/f", [1]).get() > 0)
                #expect(client.endpoint == server.endpoint)
                server.kill()
                guard case .failure(.unreachable(let why)) = client.range("/f") else {
                    Issue.record("a request with every endpoint down did not fail as unreachable")
                    return
                }
                #expect(why.contains("\(dead): connection refused") && why.contains("\(server.endpoint): connection refused"), "\(why)")
                #expect(client.traffic.errors == 1)
            }
        }

        @Test func aServerThatNeverAnswersTimesOutAtTheDeadline() throws {
            let (listener, port) = try Posix.listen()  // accepts connections (kernel backlog), never answers
            defer { close(listener) }
            let client = EtcdClient(
                endpoints: [EtcdEndpoint(secure: false, host: "127.0.0.1", port: port)], tls: nil, requestTimeout: .milliseconds(300))
            let started = Date()
            let result = client.range("/x")
            let elapsed = Date().timeIntervalSince(started)
            guard case .failure(.timedOut) = result else {
                Issue.record("expected a timeout, got \(result)")
                return
            }
            #expect(elapsed >= 0.25 && elapsed < 1.5, "\(elapsed)")
        }

        @Test func tlsWithAClientCertificateWorksAndWithoutOneIsRefused() throws {
            try withEtcd(tls: true) { server in
                let client = Self.client(server)
                _ = try client.put("/tls", Array("secret".utf8)).get()
                #expect(try client.range("/tls").get().kvs.map(\.value) == [Array("secret".utf8)])
                let events = Guarded(0)
                let watch = client.watch("/tls", startRevision: 1, onEvents: { batch, _ in events.withValue { $0 += batch.count } }) { _ in
                }
                defer { watch.cancel() }
                #expect(Posix.waitUntil(timeout: 5) { events.value == 1 })

                let certificates = try #require(server.certificates)
                let anonymous = EtcdClient(
                    endpoints: [server.endpoint], tls: ClusterTLSConfig(caFile: certificates.ca), requestTimeout: .seconds(2))
                guard case .failure(.unreachable(let why)) = anonymous.range("/tls") else {
                    Issue.record("a client without a certificate was served")
                    return
                }
                #expect(why.contains("etcd requires a client certificate"), "\(why)")

                let untrusting = EtcdClient(endpoints: [server.endpoint], tls: ClusterTLSConfig(caFile: certificates.clientCertificate))
                guard case .failure(.unreachable(let refusal)) = untrusting.range("/tls") else {
                    Issue.record("a server certificate from an unknown CA was accepted")
                    return
                }
                #expect(refusal.contains("certificate verify failed"), "\(refusal)")

                let missing = EtcdClient(
                    endpoints: [server.endpoint],
                    tls: ClusterTLSConfig(caFile: certificates.ca, certFile: "/nonexistent.pem", keyFile: certificates.clientKey))
                guard case .failure(.unreachable(let loading)) = missing.range("/tls") else {
                    Issue.record("a missing client certificate file was not reported")
                    return
                }
                #expect(loading.contains("/nonexistent.pem"), "\(loading)")
            }
        }
    }
}
