// The writers' side of trace context and the arm field: what each head the proxy writes carries, for both client protocols.
@testable import HTTP
import Testing

@Suite struct TraceForwardingTests {
    private static let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    private static let started = TraceIDs(traceHigh: 1, traceLow: 2, parent: 3)
    private static let startedValue = "00-00000000000000010000000000000002-0000000000000003-00"

    /// `text` parsed and rewritten for an HTTP/1.1 upstream; the fields after the request line, as lines.
    private func http1Head(_ text: String, startTrace: TraceIDs?) -> [String] {
        let raw = bytes(text)
        let (result, head) = parseRequest(raw)
        #expect(result == .complete)
        var out = [UInt8](repeating: 0, count: 4096)
        let n = raw.withUnsafeBytes { source in
            Array("10.0.0.9".utf8).withUnsafeBytes { peer in
                out.withUnsafeMutableBytes {
                    HeadWriter.writeRequest(head, source: source, clientAddress: peer, proto: "http", startTrace: startTrace, into: $0)
                }
            }
        }
        return String(decoding: out[0..<(n ?? 0)], as: UTF8.self).split(separator: "\r\n").map(String.init)
    }

    /// `text` parsed and written as HTTP/2 fields.
    private func http2Fields(_ text: String, startTrace: TraceIDs?) -> [String] {
        let raw = bytes(text)
        let (_, head) = parseRequest(raw)
        var lines: [String] = []
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { storage.deallocate() }
        _ = raw.withUnsafeBytes { source in
            Array("10.0.0.9".utf8).withUnsafeBytes { peer in
                head.forEachHTTP2Field(
                    source: source, clientAddress: peer, proto: "http", scheme: "http", storage: storage, startTrace: startTrace
                ) { lines.append(String(decoding: $0, as: UTF8.self) + ": " + String(decoding: $1, as: UTF8.self)) }
            }
        }
        return lines
    }

    /// HTTP/2 request fields collected into a FieldRequest, then written as HTTP/1.1 lines and as HTTP/2 fields.
    private func fromHTTP2(
        _ fields: [(String, String)], startTrace: TraceIDs?
    ) -> (received: ReceivedTraceParent, http1: [String], http2: [String]) {
        var request = FieldRequest(maxListSize: 16_384, maxCount: 100)
        var scratch = [UInt8](repeating: 0, count: 4096)
        scratch.withUnsafeMutableBytes { out in
            for (name, value) in [(":method", "GET"), (":scheme", "http"), (":authority", "a.example"), (":path", "/")] + fields {
                Array(name.utf8).withUnsafeBytes { n in
                    Array(value.utf8).withUnsafeBytes { v in request.add(name: n, value: v, scratch: out) }
                }
            }
        }
        request.finish()
        var out = [UInt8](repeating: 0, count: 4096)
        var h2: [String] = []
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { storage.deallocate() }
        let n = scratch.withUnsafeBytes { s in
            let source = UnsafeRawBufferPointer(rebasing: s[0..<request.used])
            return Array("10.0.0.9".utf8).withUnsafeBytes { peer in
                _ = request.forEachHTTP2Field(
                    source: source, clientAddress: peer, proto: "http", scheme: "http", storage: storage, startTrace: startTrace
                ) { h2.append(String(decoding: $0, as: UTF8.self) + ": " + String(decoding: $1, as: UTF8.self)) }
                return out.withUnsafeMutableBytes {
                    request.writeHTTP1(
                        source: source, clientAddress: peer, proto: "http", chunkedBody: false, startTrace: startTrace, into: $0)
                }
            }
        }
        let h1 = String(decoding: out[0..<(n ?? 0)], as: UTF8.self).split(separator: "\r\n").map(String.init)
        return (request.receivedTraceParent, h1, h2)
    }

    private func traceLines(_ lines: [String]) -> [String] {
        lines.filter { $0.lowercased().hasPrefix("traceparent:") || $0.lowercased().hasPrefix("tracestate:") }
    }

    @Test func anHTTP1RequestsTraceContextGoesOnAsReceivedUnlessATraceIsStarted() {
        let request = "GET / HTTP/1.1\r\nHost: h\r\nTraceparent: \(Self.valid)\r\ntracestate: a=1\r\nAccept: */*\r\ntracestate: b=2\r\n\r\n"
        #expect(traceLines(http1Head(request, startTrace: nil)) == ["Traceparent: \(Self.valid)", "tracestate: a=1", "tracestate: b=2"])
        #expect(traceLines(http1Head(request, startTrace: Self.started)) == ["traceparent: \(Self.startedValue)"])
        #expect(http1Head(request, startTrace: Self.started).contains("Accept: */*"))
        #expect(traceLines(http2Fields(request, startTrace: nil)) == ["traceparent: \(Self.valid)", "tracestate: a=1", "tracestate: b=2"])
        #expect(traceLines(http2Fields(request, startTrace: Self.started)) == ["traceparent: \(Self.startedValue)"])
    }

    @Test func theParserCountsTraceparentFields() {
        let one = parseRequest("GET / HTTP/1.1\r\nHost: h\r\ntraceparent: x\r\n\r\n").1
        #expect(one.traceparent == .one(ByteRange(lowerBound: 38, upperBound: 39)))
        let two = parseRequest("GET / HTTP/1.1\r\nHost: h\r\ntraceparent: x\r\nTRACEPARENT: y\r\n\r\n").1
        #expect(two.traceparent == .repeated)
        #expect(parseRequest("GET / HTTP/1.1\r\nHost: h\r\n\r\n").1.traceparent == .absent)
    }

    @Test func anHTTP2RequestsTraceContextGoesOnAsReceivedUnlessATraceIsStarted() {
        let fields = [("tracestate", "a=1"), ("traceparent", Self.valid), ("accept", "*/*")]
        let kept = fromHTTP2(fields, startTrace: nil)
        guard case .one = kept.received else {
            Issue.record("one traceparent, read as \(kept.received)")
            return
        }
        #expect(traceLines(kept.http1) == ["traceparent: \(Self.valid)", "tracestate: a=1"])
        #expect(traceLines(kept.http2) == ["traceparent: \(Self.valid)", "tracestate: a=1"])
        let replaced = fromHTTP2(fields, startTrace: Self.started)
        #expect(traceLines(replaced.http1) == ["traceparent: \(Self.startedValue)"])
        #expect(traceLines(replaced.http2) == ["traceparent: \(Self.startedValue)"])
        #expect(replaced.http1.contains("accept: */*") && replaced.http2.contains("accept: */*"))
        #expect(fromHTTP2([("traceparent", "a"), ("traceparent", "b")], startTrace: nil).received == .repeated)
        #expect(fromHTTP2([], startTrace: nil).received == .absent)
    }

    /// A response rewritten with the arm field `x-canarygate-arm: canary/v2`.
    private func response(_ text: String, armed: Bool) -> String? {
        let raw = bytes(text)
        let (_, head) = parseResponse(raw)
        let line = bytes("x-canarygate-arm: canary/v2\r\n")
        var out = [UInt8](repeating: 0, count: 4096)
        let n = line.withUnsafeBytes { lineBytes in
            let arm = ArmField(line: lineBytes, nameCount: 16)
            return raw.withUnsafeBytes { source in
                out.withUnsafeMutableBytes {
                    HeadWriter.writeResponse(
                        head, source: source, chunked: false, connection: .none, armField: armed ? arm : nil, into: $0)
                }
            }
        }
        return n.map { String(decoding: out[0..<$0], as: UTF8.self) }
    }

    @Test func theArmFieldReplacesTheUpstreamsOwnOnlyWhenOn() {
        let upstream = "HTTP/1.1 200 OK\r\nX-Canarygate-Arm: primary/forged\r\nContent-Length: 0\r\n\r\n"
        #expect(response(upstream, armed: true) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-canarygate-arm: canary/v2\r\n\r\n")
        #expect(response(upstream, armed: false) == "HTTP/1.1 200 OK\r\nX-Canarygate-Arm: primary/forged\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func theArmFieldsNameMatchesIgnoringCaseAndItsValueIsTheArm() {
        let line = bytes("x-served_by: primary/v1\r\n")
        line.withUnsafeBytes { lineBytes in
            let arm = ArmField(line: lineBytes, nameCount: 11)
            #expect(String(decoding: arm.name, as: UTF8.self) == "x-served_by")
            #expect(String(decoding: arm.value, as: UTF8.self) == "primary/v1")
            #expect(bytes("X-Served_By").withUnsafeBytes { arm.isNamed($0) })
            #expect(!bytes("x-served-by").withUnsafeBytes { arm.isNamed($0) })
            #expect(!bytes("x-served_b").withUnsafeBytes { arm.isNamed($0) })
        }
    }

    @Test func theProxysOwnErrorNamesTheArmWhenGivenOne() {
        let line = bytes("x-canarygate-arm: canary/v2\r\n")
        var out = [UInt8](repeating: 0, count: 512)
        let n = line.withUnsafeBytes { lineBytes in
            out.withUnsafeMutableBytes {
                HeadWriter.writeErrorResponse(
                    status: 502, message: "upstream connect failed", close: true,
                    armField: ArmField(line: lineBytes, nameCount: 16), into: $0)
            }
        }
        let text = String(decoding: out[0..<(n ?? 0)], as: UTF8.self)
        #expect(text.contains("Connection: close\r\nx-canarygate-arm: canary/v2\r\n\r\nupstream connect failed\n"))
    }
}
