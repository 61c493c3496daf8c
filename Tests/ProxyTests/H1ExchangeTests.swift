// H1Exchange: the reused exchange object starts every request afresh; a response body is done once classified and handed over.

import Config
import HTTP
@testable import Proxy
import Testing

@Suite struct H1ExchangeTests {
    private static func snapshot() throws -> ProxySnapshot {
        try ProxySnapshot(
            config: ConfigLoader.parse(
                """
                listeners:
                  - name: web
                    address: "127.0.0.1:8080"
                routes:
                  - name: web
                    primary:
                      revision: v1
                      endpoints: ["127.0.0.1:9"]

                """), generation: 1)
    }

    @Test func beginForgetsEverythingOfThePreviousRequest() throws {
        let first = try Self.snapshot()
        let exchange = H1Exchange(snapshot: first, maxHeaderBytes: 8192, maxHeaderCount: 100)
        exchange.slowMarked = true
        exchange.bytesFromClient = 10
        exchange.bytesToClient = 20
        exchange.attempts.retried()
        exchange.headOutLength = 30
        exchange.requestBody = .length(remaining: 40)
        exchange.requestPending = 50
        exchange.requestBodyRead = 60
        exchange.requestBodyWindow = RequestBodyWindow(startedAt: 1, bytesAtStart: 2)
        exchange.requestComplete = true
        exchange.responseBody = ResponseBody(.contentLength(70), dechunk: false)
        exchange.responseStarted = true

        let second = try Self.snapshot()
        exchange.begin(snapshot: second)
        #expect(exchange.snapshot === second)
        #expect(!exchange.slowMarked && exchange.bytesFromClient == 0 && exchange.bytesToClient == 0)
        #expect(exchange.attempts.retries == 0 && !exchange.attempts.hidFailure)
        #expect(exchange.headOutLength == 0 && exchange.requestPending == 0 && exchange.requestBodyRead == 0)
        #expect(exchange.requestBody.isFullyClassified && !exchange.requestComplete)
        #expect(exchange.requestBodyWindow == nil)
        #expect(!exchange.responseStarted)
    }

    /// An exchange taken from the loop's spares may hold the half-parsed head of a connection that closed:
    /// the next request's first byte starts its parse over, keeping the header array's capacity.
    @Test func startRequestHeadForgetsAHalfParsedHead() throws {
        let exchange = H1Exchange(snapshot: try Self.snapshot(), maxHeaderBytes: 8192, maxHeaderCount: 100)
        let partial: [UInt8] = Array("GET /old HTTP/1.1\r\nHost: a\r\nX-Pad: 1".utf8)
        let first = partial.withUnsafeBytes { exchange.parser.parse($0, into: &exchange.request) }
        #expect(first == .incomplete)
        let capacity = exchange.request.headers.capacity

        exchange.startRequestHead(maxHeaderBytes: 8192, maxHeaderCount: 100)
        let next: [UInt8] = Array("POST /new HTTP/1.1\r\nHost: b\r\n\r\n".utf8)
        let target = next.withUnsafeBytes { bytes -> [UInt8] in
            #expect(exchange.parser.parse(bytes, into: &exchange.request) == .complete)
            return Array(bytes.slice(exchange.request.target))
        }
        #expect(exchange.request.method == .post)
        #expect(target == Array("/new".utf8))
        #expect(exchange.request.headLength == next.count)
        #expect(exchange.request.headers.count == 1 && exchange.request.headers.capacity >= capacity)
    }

    /// An exchange made before a reload parses the next request under the reloaded limits.
    @Test func startRequestHeadAppliesTheCurrentLimits() throws {
        let exchange = H1Exchange(snapshot: try Self.snapshot(), maxHeaderBytes: 8192, maxHeaderCount: 100)
        exchange.startRequestHead(maxHeaderBytes: 4096, maxHeaderCount: 50)
        #expect(exchange.parser.maxHeaderBytes == 4096 && exchange.parser.maxHeaderCount == 50)
        #expect(exchange.responseParser.maxHeaderBytes == 4096 && exchange.responseParser.maxHeaderCount == 50)
    }

    /// A request routed after a reload (its body was buffered first) holds the config it was routed
    /// under, whose routes and rules its response still reads.
    @Test func aRequestHoldsTheSnapshotItIsRoutedUnder() throws {
        let atHead = try Self.snapshot()
        let exchange = H1Exchange(snapshot: atHead, maxHeaderBytes: 8192, maxHeaderCount: 100)
        weak var reloaded: ProxySnapshot?
        do {
            let current = try Self.snapshot()
            reloaded = current
            exchange.route(under: current)
        }
        #expect(reloaded != nil && exchange.snapshot === reloaded)
        // Routed again under the older snapshot, the exchange holds that one: identity follows `route(under:)`.
        exchange.route(under: atHead)
        #expect(exchange.snapshot === atHead)
    }

    @Test func aResponseBodyIsDoneOnceClassifiedAndHandedOver() {
        var body = ResponseBody(.contentLength(5), dechunk: false)
        #expect(!body.isDone)
        let bytes: [UInt8] = Array("hello".utf8)
        bytes.withUnsafeBytes { raw in
            if case .success(let n) = body.progress.classify(raw, alreadyPending: body.pending) { body.pending += n }
        }
        #expect(body.pending == 5 && !body.isDone)
        body.pending = 0
        #expect(body.isDone)
        #expect(ResponseBody(.none, dechunk: false).isDone)
        #expect(!ResponseBody(.untilClose, dechunk: false).isDone)
    }
}
