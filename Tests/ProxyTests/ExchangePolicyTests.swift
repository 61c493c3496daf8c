// The rules both exchanges share, without sockets: after a failure, on an upstream's silence, and for reusing its connection.
import HTTP
@testable import Proxy
import Telemetry
import Testing

private func failure(
    _ f: ProxyFailure = .upstreamReset, connected: Bool = true, received: Bool = false, clientHas: Bool = false,
    replayable: Bool = true, method: HTTPMethod = .get, retries: Int = 0
) -> AttemptFailure {
    AttemptFailure(
        failure: f, connected: connected, responseBytesReceived: received, clientHasResponse: clientHas,
        replayable: replayable, method: method, retriesSoFar: retries)
}

@Suite struct ExchangePolicyTests {
    @Test func onlyAnUpstreamFailureOnAnEstablishedConnectionCountsAgainstTheEndpointHere() {
        #expect(failure(.upstreamReset, connected: true).countsAgainstEndpoint)
        #expect(failure(.invalidResponse, connected: true).countsAgainstEndpoint)
        // Connect failures were counted where they were seen (the binding, the connect deadline).
        #expect(!failure(.connectRefused, connected: false).countsAgainstEndpoint)
        // A failure of ours (no kind) is nobody's upstream fault.
        #expect(!failure(.headTooLarge, connected: true).countsAgainstEndpoint)
    }

    @Test func theRetryCandidateCarriesTheFactsToTheRetryRule() {
        let candidate = failure(.upstreamClosed, received: false, replayable: true, method: .put, retries: 0).retryCandidate
        #expect(candidate?.kind == .upstreamClosed)
        #expect(candidate?.method == .put)
        #expect(candidate?.mayRetry(policy: .default) == true)
        // Once a response byte arrived, the rule refuses.
        #expect(failure(.upstreamClosed, received: true).retryCandidate?.mayRetry(policy: .default) == false)
        // A body that was streamed cannot be replayed after it was sent.
        #expect(failure(.upstreamReset, replayable: false, method: .post).retryCandidate?.mayRetry(policy: .default) == false)
        // Nothing to retry for a failure that is not an upstream's.
        #expect(failure(.noRoute).retryCandidate == nil)
    }

    @Test func withoutARetryTheClientIsAnsweredUntilItHasPartOfTheResponse() {
        #expect(failure(.responseTimeout, clientHas: false).ending == .answer(.responseTimeout))
        #expect(failure(.upstreamReset, received: true, clientHas: true).ending == .cut)
        #expect(ExchangeEnding.cutStatus == 502)
    }

    @Test func silenceTheClientCausesIsNotTheUpstreamsFault() {
        #expect(UpstreamSilence.judge(connected: true, awaitingClientBody: true, blockedOnClient: false) == .client)
        #expect(UpstreamSilence.judge(connected: true, awaitingClientBody: false, blockedOnClient: true) == .client)
        #expect(UpstreamSilence.judge(connected: true, awaitingClientBody: false, blockedOnClient: false) == .upstream(.responseTimeout))
    }

    @Test func aConnectThatNeverCompletedIsTheUpstreamsWhateverTheClientDoes() {
        let silence = UpstreamSilence.judge(connected: false, awaitingClientBody: true, blockedOnClient: true)
        #expect(silence == .upstream(.connectTimeout))
        #expect(silence.countsAgainstEndpoint)
        #expect(!UpstreamSilence.judge(connected: true, awaitingClientBody: false, blockedOnClient: false).countsAgainstEndpoint)
        #expect(!UpstreamSilence.client.countsAgainstEndpoint)
    }

    @Test func anUpstreamConnectionIsReusedOnlyWhenEverythingEndedCleanly() {
        let clean = UpstreamReuse(
            responseKeepAlive: true, requestComplete: true, upstreamHungUp: false, unreadResponseBytes: false,
            closeDelimited: false)
        #expect(clean.allowed)
        var r = clean; r.responseKeepAlive = false; #expect(!r.allowed)
        r = clean; r.requestComplete = false; #expect(!r.allowed)
        r = clean; r.upstreamHungUp = true; #expect(!r.allowed)
        r = clean; r.unreadResponseBytes = true; #expect(!r.allowed)
        r = clean; r.closeDelimited = true; #expect(!r.allowed)
    }

    @Test func anArmIsDrawnOnlyWhenACanaryTakesTraffic() {
        #expect(ArmReason.forRoute(hasCanary: true, weight: 10) == .split)
        #expect(ArmReason.forRoute(hasCanary: true, weight: 0) == .onlyArm)
        #expect(ArmReason.forRoute(hasCanary: false, weight: 50) == .onlyArm)
    }
}
