// H1ExchangeRules and FinalHeadPlan: the HTTP/1.1 exchange's decisions on a client's hang-up, the body to buffer and the final head, without sockets.

import EventLoop
import HTTP
@testable import Proxy
import Testing

@Suite struct H1ExchangeRulesTests {
    // MARK: a client's hang-up during an exchange

    @Test func aResetOrAnErrorIsAlwaysAnAbort() {
        for events in [Reactor.hangup, Reactor.error, Reactor.readable | Reactor.readHangup | Reactor.hangup] {
            #expect(H1ExchangeRules.clientAbandons(events: events, alreadyHungUp: false, requestRead: false))
            #expect(H1ExchangeRules.clientAbandons(events: events, alreadyHungUp: true, requestRead: true))
        }
    }

    @Test func aFinAfterTheWholeRequestIsAnAbort() {
        #expect(H1ExchangeRules.clientAbandons(events: Reactor.readHangup, alreadyHungUp: false, requestRead: true))
        #expect(H1ExchangeRules.clientAbandons(events: Reactor.readable | Reactor.readHangup, alreadyHungUp: false, requestRead: true))
    }

    @Test func aFinWhileTheBodyIsStillBeingReadIsAHalfClose() {
        #expect(!H1ExchangeRules.clientAbandons(events: Reactor.readable | Reactor.readHangup, alreadyHungUp: false, requestRead: false))
    }

    @Test func aFinAlreadyReportedIsNoNews() {
        // Edge-triggered epoll repeats EPOLLRDHUP with every later event: a half-close seen earlier
        // does not turn into an abort once the body is read.
        #expect(!H1ExchangeRules.clientAbandons(events: Reactor.readHangup, alreadyHungUp: true, requestRead: true))
    }

    // MARK: limits.requestBuffer

    private func toBuffer(
        limit: Int = 8192, expectsContinue: Bool = false, bufferSize: Int = 16384, headLength: Int = 100,
        _ framing: BodyFraming
    ) -> Int {
        H1ExchangeRules.bodyToBuffer(
            limit: limit, expectsContinue: expectsContinue, bufferSize: bufferSize,
            headLength: headLength, framing: framing)
    }

    @Test func aSmallBodyIsBufferedWhole() {
        #expect(toBuffer(.contentLength(500)) == 500)
        #expect(toBuffer(.contentLength(8192)) == 8192)
    }

    @Test func aLargeBodyIsBufferedUpToTheLimitThenStreams() {
        #expect(toBuffer(.contentLength(1_000_000)) == 8192)
        #expect(toBuffer(.chunked) == 8192)
    }

    @Test func theBufferAfterTheHeadBoundsWhatIsHeld() {
        #expect(toBuffer(limit: 65536, bufferSize: 16384, headLength: 384, .contentLength(1_000_000)) == 16000)
        #expect(toBuffer(limit: 65536, bufferSize: 16384, headLength: 384, .chunked) == 16000)
        #expect(toBuffer(limit: 65536, bufferSize: 1000, headLength: 2000, .chunked) == 0)
    }

    @Test func nothingIsBufferedWithoutALimitABodyOrWhenTheClientWaitsFor100Continue() {
        #expect(toBuffer(limit: 0, .contentLength(500)) == 0)
        #expect(toBuffer(.none) == 0)
        #expect(toBuffer(.contentLength(0)) == 0)
        #expect(toBuffer(.untilClose) == 0)
        #expect(toBuffer(expectsContinue: true, .contentLength(500)) == 0)
        #expect(toBuffer(expectsContinue: true, .chunked) == 0)
    }

    // MARK: the final response head

    @Test func anHTTP11ClientGetsTheBodyAsFramedAndKeepsItsConnection() {
        let length = FinalHeadPlan(clientVersionMinor: 1, framing: .contentLength(10), closeAfterResponse: false)
        #expect(length == FinalHeadPlan(dechunk: false, chunked: false, closeAfter: false, directive: .none))
        let chunked = FinalHeadPlan(clientVersionMinor: 1, framing: .chunked, closeAfterResponse: false)
        #expect(chunked == FinalHeadPlan(dechunk: false, chunked: true, closeAfter: false, directive: .none))
    }

    @Test func anHTTP10ClientGetsAChunkedBodyDecodedAndTheConnectionClosed() {
        let plan = FinalHeadPlan(clientVersionMinor: 0, framing: .chunked, closeAfterResponse: false)
        #expect(plan == FinalHeadPlan(dechunk: true, chunked: false, closeAfter: true, directive: .close))
    }

    @Test func anHTTP10ClientIsToldItsConnectionStaysOpen() {
        let plan = FinalHeadPlan(clientVersionMinor: 0, framing: .contentLength(10), closeAfterResponse: false)
        #expect(plan == FinalHeadPlan(dechunk: false, chunked: false, closeAfter: false, directive: .keepAlive))
    }

    @Test func aBodyUntilCloseOrAnEarlierCloseClosesTheClientConnection() {
        for minor: UInt8 in [0, 1] {
            #expect(FinalHeadPlan(clientVersionMinor: minor, framing: .untilClose, closeAfterResponse: false).directive == .close)
            let asked = FinalHeadPlan(clientVersionMinor: minor, framing: .contentLength(10), closeAfterResponse: true)
            #expect(asked.closeAfter && asked.directive == .close)
        }
    }
}
