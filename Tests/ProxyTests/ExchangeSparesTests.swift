// The loop's spare HTTP/1.1 exchange objects: one given back is the next one taken, at most 64 are kept, the rest let go after the batch, and the memory trim lets go of a burst's.
@testable import Proxy
import Testing

@Suite struct ExchangeSparesTests {
    private static func loop() throws -> ProxyLoop {
        try makeLoop(
            yaml: """
                listeners:
                  - name: http
                    address: 127.0.0.1:\(try freePort())
                routes:
                  - name: web
                    primary:
                      revision: v1
                      endpoints: ["127.0.0.1:9"]
                """)
    }

    @Test func anExchangeGivenBackIsTheNextTaken() throws {
        let loop = try Self.loop()
        defer { loop.shutdown() }
        let first = loop.takeExchange()
        let other = loop.takeExchange()
        #expect(first !== other)
        loop.recycle(first)
        #expect(loop.takeExchange() === first)
    }

    @Test func atMost64AreKept() throws {
        let loop = try Self.loop()
        defer { loop.shutdown() }
        let given = (0..<65).map { _ in loop.takeExchange() }
        for exchange in given { loop.recycle(exchange) }
        let taken = (0..<65).map { _ in loop.takeExchange() }
        let kept = taken.filter { t in given.contains { $0 === t } }
        #expect(kept.count == 64)
    }

    /// A connection may close inside its own exchange step, which borrows the exchange without a retain:
    /// one given back beyond the spares' bound must outlive that step, so it is let go after the batch.
    @Test func oneGivenBackBeyondTheSparesLivesUntilTheBatchOfEventsEnds() throws {
        let loop = try Self.loop()
        defer { loop.shutdown() }
        weak var overflow: H1Exchange?
        do {
            let given = (0..<65).map { _ in loop.takeExchange() }
            overflow = given[64]
            for exchange in given { loop.recycle(exchange) }
        }
        #expect(overflow != nil)
        loop.loop.afterEvents?()
        #expect(overflow == nil)
    }

    /// A burst's exchanges, given back: two trims with no request between them let them all go, and the
    /// loop reports nothing kept (so its once-a-second trim stops ticking).
    @Test func twoTrimsWithNoRequestBetweenLetABurstsSparesGo() throws {
        let loop = try Self.loop()
        defer { loop.shutdown() }
        weak var oneOfThem: H1Exchange?
        do {
            let given = (0..<10).map { _ in loop.takeExchange() }
            oneOfThem = given[0]
            for exchange in given { loop.recycle(exchange) }
        }
        #expect(loop.spareExchanges.count == 10)
        #expect(loop.trimSpares() == (letGo: 0, kept: 10))
        #expect(loop.trimSpares() == (letGo: 10, kept: 0))
        #expect(oneOfThem == nil)
    }
}
