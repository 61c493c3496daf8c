// Mirroring's rules without sockets: eligibility, the share, the slot pool, the pair's ending, a body in hand.
@testable import Config
import HTTP
@testable import Proxy
import Telemetry
import Testing

@Suite struct MirrorRulesTests {
    private func rules(match: [CohortEntry] = [], weight: Int = 100) throws -> MirrorRules {
        var config = MirrorConfig()
        config.match = match
        config.weight = weight
        return try #require(MirrorRules(config))
    }

    private func eligible(_ rules: MirrorRules, _ head: String) -> Bool {
        let raw = Array(head.utf8)
        var parser = RequestHeadParser(maxHeaderBytes: 8192, maxHeaderCount: 64)
        var request = RequestHead()
        #expect(raw.withUnsafeBytes { parser.parse($0, into: &request) } == .complete)
        return raw.withUnsafeBytes { source in request.withView(source: source) { rules.isEligible($0) } }
    }

    @Test func onlySafeMethodsByDefault() throws {
        let r = try rules()
        for method in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            #expect(eligible(r, "\(method) /a HTTP/1.1\r\nHost: x\r\n\r\n"), "\(method)")
        }
        for method in ["POST", "PUT", "DELETE", "PATCH", "PURGE"] {
            #expect(!eligible(r, "\(method) /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), "\(method)")
        }
    }

    @Test func aMatchWidensTheRuleToItsRequestsOnly() throws {
        var entry = CohortEntry()
        entry.method = "POST"
        entry.pathPrefix = "/search"
        let r = try rules(match: [entry])
        #expect(eligible(r, "POST /search?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
        #expect(!eligible(r, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
        #expect(eligible(r, "GET /orders HTTP/1.1\r\nHost: x\r\n\r\n"), "safe methods stay eligible")
    }

    @Test func weightZeroCompilesToNothing() {
        var config = MirrorConfig()
        config.weight = 0
        #expect(MirrorRules(config) == nil)
    }

    @Test func theShareIsExactOverEveryHundred() {
        for weight in [1, 7, 25, 50, 99, 100] {
            var share = MirrorShare()
            let taken = (0..<300).filter { _ in share.take(weight: weight) }.count
            #expect(taken == 3 * weight, "weight \(weight)")
        }
        var half = MirrorShare()
        #expect((0..<4).map { _ in half.take(weight: 50) } == [false, true, false, true], "spread, not bunched")
    }

    private final class Token {}

    @Test func thePoolCreatesUpToItsLimitThenDropsAndReusesWhatComesBack() {
        var pool = MirrorSlotPool<Token>(limit: 2)
        var made = 0
        let make = { () -> Token in
            made += 1; return Token()
        }
        let a = pool.take(make), b = pool.take(make)
        #expect(a != nil && b != nil && a !== b)
        #expect(pool.take(make) == nil, "none free: dropped, not queued")
        #expect(pool.inUse == 2)
        pool.give(a!)
        #expect(pool.take(make) === a, "reused, not made again")
        #expect(made == 2 && pool.created == 2)
        #expect(pool.takeFree() == nil)
    }

    @Test func thePairEndsWhenItsLaterSideDoes() {
        var pair = MirrorPair()
        #expect(pair.canaryEnded(.answered) == .wait)
        #expect(pair.primaryEnded(completed: true) == .compare)

        pair = MirrorPair()
        #expect(pair.primaryEnded(completed: true) == .wait)
        #expect(pair.canaryEnded(.failed(.timeout)) == .count(.timeout))

        pair = MirrorPair()
        #expect(pair.primaryEnded(completed: false) == .wait)
        #expect(pair.canaryEnded(.answered) == .count(.skipped), "nothing to compare the answer with")

        pair = MirrorPair()
        #expect(pair.canaryEnded(.failed(.failed)) == .wait)
        #expect(pair.primaryEnded(completed: false) == .count(.failed), "the canary's failure counts whatever the primary did")
    }

    private func inHand(_ framing: BodyFraming, _ bytes: String, max: Int = 100) -> String? {
        Array(bytes.utf8).withUnsafeBytes { afterHead in
            MirrorRequestBody.inHand(framing: framing, afterHead: afterHead, maxBytes: max).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    @Test func aBodyIsCopiedOnlyWhenWhollyInHandAndSmallEnough() {
        #expect(inHand(.none, "GET / HTTP/1.1\r\n") == "", "no body; what follows is the next request")
        #expect(inHand(.contentLength(5), "hello") == "hello")
        #expect(inHand(.contentLength(5), "hel") == nil, "not all arrived")
        #expect(inHand(.contentLength(5), "hello", max: 4) == nil, "too large")
        #expect(inHand(.contentLength(5), "helloGET /") == "hello")
        #expect(inHand(.chunked, "5\r\nhello\r\n0\r\n\r\nNEXT") == "5\r\nhello\r\n0\r\n\r\n")
        #expect(inHand(.chunked, "5\r\nhello\r\n") == nil, "the last chunk is not there yet")
        #expect(inHand(.chunked, "5\r\nhello\r\n0\r\n\r\n", max: 10) == nil)
    }

    /// Every copy `start` counts in flight on the canary ends there, whatever failed it: one of the proxy's
    /// own (no failure source, as when it runs out of descriptors) too, else the gauge never comes back to 0.
    @Test func aFailedCopyEndsItsRequestOnTheCanary() {
        let shard = ArmShard()
        for failure in [ProxyFailure.resourceExhausted, .upstreamReset, .responseTimeout] {
            shard.requestStarted()
            MirrorSlot.countFailure(failure, on: shard, latencyNanoseconds: 1_000)
        }
        let counts = shard.snapshot()
        #expect(counts.inFlight == 0)
        #expect(counts.requestsByStatus[503] == 1, "the status a client would have got")
        #expect(counts.failures[.upstreamReset] == 1)
    }
}
