// SpliceRules: when a body is spliced instead of copied, and how much each splice may move, without sockets.

import HTTP
@testable import Proxy
import Testing

@Suite struct SpliceRulesTests {
    private static let plain = SpliceRules.Path(enabled: true, clientTLS: false, upstreamTLS: false, mirrored: false)
    private static let long = BodyProgress.length(remaining: SpliceRules.minimumRemaining)

    // MARK: which exchanges may splice at all

    @Test func plainTCPOnBothSidesWithTheKnobOnAllowsIt() {
        #expect(Self.plain.allowsSplice)
    }

    @Test func eachConditionOnItsOwnForbidsIt() {
        var off = Self.plain
        off.enabled = false
        var clientTLS = Self.plain
        clientTLS.clientTLS = true
        var upstreamTLS = Self.plain
        upstreamTLS.upstreamTLS = true
        var mirrored = Self.plain
        mirrored.mirrored = true
        for path in [off, clientTLS, upstreamTLS, mirrored] {
            #expect(!path.allowsSplice, "\(path)")
            #expect(!SpliceRules.splicesResponse(path, progress: Self.long, heldForClient: 0), "\(path)")
            #expect(!SpliceRules.splicesRequest(path, upgrade: false, progress: Self.long, heldForUpstream: 0), "\(path)")
        }
    }

    // MARK: responses

    @Test func aLongLengthDelimitedResponseIsSpliced() {
        #expect(SpliceRules.splicesResponse(Self.plain, progress: Self.long, heldForClient: 0))
    }

    @Test func aResponseWhoseRestIsShortIsCopied() {
        let short = BodyProgress.length(remaining: SpliceRules.minimumRemaining - 1)
        #expect(!SpliceRules.splicesResponse(Self.plain, progress: short, heldForClient: 0))
    }

    @Test func aCloseDelimitedResponseIsSplicedWhateverItsSize() {
        #expect(SpliceRules.splicesResponse(Self.plain, progress: .untilClose, heldForClient: 0))
    }

    @Test func chunkedOrFinishedResponsesAreCopied() {
        #expect(!SpliceRules.splicesResponse(Self.plain, progress: .chunked(ChunkedScanner(), done: false), heldForClient: 0))
        #expect(!SpliceRules.splicesResponse(Self.plain, progress: .none, heldForClient: 0))
    }

    @Test func bytesStillHeldForTheClientGoFirst() {
        #expect(!SpliceRules.splicesResponse(Self.plain, progress: Self.long, heldForClient: 1))
        #expect(!SpliceRules.splicesResponse(Self.plain, progress: .untilClose, heldForClient: 100))
    }

    // MARK: requests

    @Test func aLongLengthDelimitedRequestBodyIsSpliced() {
        #expect(SpliceRules.splicesRequest(Self.plain, upgrade: false, progress: Self.long, heldForUpstream: 0))
    }

    @Test func aRequestBodyWhoseRestIsShortIsCopied() {
        let short = BodyProgress.length(remaining: SpliceRules.minimumRemaining - 1)
        #expect(!SpliceRules.splicesRequest(Self.plain, upgrade: false, progress: short, heldForUpstream: 0))
    }

    @Test func chunkedRequestBodiesAreCopied() {
        #expect(
            !SpliceRules.splicesRequest(Self.plain, upgrade: false, progress: .chunked(ChunkedScanner(), done: false), heldForUpstream: 0))
        #expect(!SpliceRules.splicesRequest(Self.plain, upgrade: false, progress: .none, heldForUpstream: 0))
    }

    @Test func anUpgradeRequestIsCopied() {
        #expect(!SpliceRules.splicesRequest(Self.plain, upgrade: true, progress: Self.long, heldForUpstream: 0))
    }

    @Test func requestBytesStillHeldForTheUpstreamGoFirst() {
        #expect(!SpliceRules.splicesRequest(Self.plain, upgrade: false, progress: Self.long, heldForUpstream: 1))
    }

    // MARK: the remaining length

    @Test func aSpliceNeverMovesPastTheBodysEnd() {
        #expect(SpliceRules.fillCount(.length(remaining: 1000), pipeCapacity: 65536) == 1000)
        #expect(SpliceRules.fillCount(.length(remaining: 65536), pipeCapacity: 65536) == 65536)
    }

    @Test func aSpliceMovesAtMostAPipesWorth() {
        #expect(SpliceRules.fillCount(.length(remaining: 1 << 40), pipeCapacity: 65536) == 65536)
        #expect(SpliceRules.fillCount(.untilClose, pipeCapacity: 65536) == 65536)
    }

    @Test func anEndedBodyMovesNothingMore() {
        #expect(SpliceRules.fillCount(.length(remaining: 0), pipeCapacity: 65536) == 0)
        #expect(SpliceRules.fillCount(.none, pipeCapacity: 65536) == 0)
    }

    @Test func filledBytesCountDownTheRemainingLength() {
        var progress = BodyProgress.length(remaining: 100_000)
        progress = SpliceRules.filled(progress, by: 65536)
        guard case .length(let left) = progress else {
            Issue.record("expected a length, got \(progress)")
            return
        }
        #expect(left == 100_000 - 65536)
        progress = SpliceRules.filled(progress, by: Int(left))
        #expect(progress.isFullyClassified)
        #expect(SpliceRules.fillCount(progress, pipeCapacity: 65536) == 0)
    }

    @Test func aCloseDelimitedBodyStaysOpenWhateverWasFilled() {
        let progress = SpliceRules.filled(.untilClose, by: 65536)
        #expect(progress.isUntilClose)
        #expect(!progress.isFullyClassified)
    }
}
