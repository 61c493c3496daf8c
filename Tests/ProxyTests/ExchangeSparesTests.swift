// The loop's spare HTTP/1.1 exchange objects: one given back is the next one taken, and at most 64 are kept.
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
}
