// W3C trace context: the traceparent syntax rule by rule, the decision to start a trace, the ids generated.
@testable import HTTP
import Testing

@Suite struct TraceContextTests {
    private let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    private func isValid(_ value: String) -> Bool { bytes(value).withUnsafeBytes { TraceParentSyntax.isValid($0) } }

    /// `traceToStart` for `received` built from `values` (each a traceparent field), seed 7.
    private func decide(starting: Bool = true, _ values: [String]) -> TraceIDs? {
        let joined = bytes(values.joined())
        var received = ReceivedTraceParent.absent
        var offset = 0
        for v in values {
            received.add(ByteRange(lowerBound: offset, upperBound: offset + v.utf8.count))
            offset += v.utf8.count
        }
        var generator = TraceIDGenerator(seed: 7)
        return joined.withUnsafeBytes {
            TraceContext.traceToStart(starting: starting, received: received, in: $0, generator: &generator)
        }
    }

    @Test func version00WithItsFourFieldsIsValid() {
        #expect(isValid(valid))
        #expect(isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"))
        #expect(isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff"))
    }

    @Test func eachShapeErrorIsInvalid() {
        #expect(!isValid(""))
        #expect(!isValid(String(valid.dropLast())))  // short flags
        #expect(!isValid(valid + "0"))  // version 00 is exactly 55 bytes
        #expect(!isValid(valid + "-extra"))  // version 00 carries no more fields
        #expect(!isValid("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(!isValid("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01"))
        #expect(!isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01"))
        #expect(!isValid("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01"))  // dash misplaced
        #expect(!isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bg-01"))  // not hex
        #expect(!isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x"))
        #expect(!isValid(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
    }

    @Test func upperCaseHexIsInvalid() {
        #expect(!isValid("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"))
        #expect(!isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"))
        #expect(!isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"))
        #expect(!isValid("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
    }

    @Test func allZeroIdsAreInvalid() {
        #expect(!isValid("00-00000000000000000000000000000000-00f067aa0ba902b7-01"))
        #expect(!isValid("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"))
        #expect(isValid("00-00000000000000000000000000000001-0000000000000001-00"))
    }

    @Test func versionFFIsInvalid() {
        #expect(!isValid("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
    }

    @Test func aLaterVersionIsReadAsItsFirstFourFields() {
        let v1 = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        #expect(isValid(v1))
        #expect(isValid(v1 + "-what-comes-later"))
        #expect(isValid("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-x"))
        // What follows the flags must start with a dash; the known fields keep their rules.
        #expect(!isValid(v1 + "x"))
        #expect(!isValid("01-00000000000000000000000000000000-00f067aa0ba902b7-01-x"))
        #expect(!isValid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-x"))
    }

    @Test func aValidTraceparentGoesOnAsReceived() {
        #expect(decide([valid]) == nil)
        #expect(decide(["01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"]) == nil)
    }

    @Test func anAbsentInvalidOrRepeatedTraceparentStartsATrace() {
        let started = TraceIDGenerator(seed: 7)
        var expected = started
        let ids = expected.next()
        #expect(decide([]) == ids)
        #expect(decide(["00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"]) == ids)
        #expect(decide([valid, valid]) == ids)
    }

    @Test func passLeavesEveryTraceparentAlone() {
        #expect(decide(starting: false, []) == nil)
        #expect(decide(starting: false, ["garbage"]) == nil)
        #expect(decide(starting: false, [valid, valid]) == nil)
    }

    @Test func generatedValuesAreValidVersion00NotSampled() throws {
        var generator = TraceIDGenerator(seed: 42)
        var seen = Set<String>()
        for _ in 0..<1000 {
            var out = [UInt8](repeating: 0, count: 64)
            let ids = generator.next()
            let n = try #require(out.withUnsafeMutableBytes { ids.write(into: $0) })
            let text = String(decoding: out[0..<n], as: UTF8.self)
            #expect(n == TraceIDs.valueLength && isValid(text))
            #expect(text.hasPrefix("00-") && text.hasSuffix("-00"))
            seen.insert(text)
        }
        #expect(seen.count == 1000)
    }

    @Test func idsAreWrittenAsLowerCaseHexMostSignificantFirst() {
        let ids = TraceIDs(traceHigh: 0x0123_4567_89ab_cdef, traceLow: 0xfedc_ba98_7654_3210, parent: 0xa)
        var out = [UInt8](repeating: 0, count: 55)
        let n = out.withUnsafeMutableBytes { ids.write(into: $0) }
        #expect(n == 55)
        #expect(String(decoding: out, as: UTF8.self) == "00-0123456789abcdeffedcba9876543210-000000000000000a-00")
        var small = [UInt8](repeating: 0, count: 54)
        #expect(small.withUnsafeMutableBytes { ids.write(into: $0) } == nil)
    }

    @Test func receivedTraceparentsAreCounted() {
        var received = ReceivedTraceParent.absent
        received.add(ByteRange(lowerBound: 3, upperBound: 9))
        #expect(received == .one(ByteRange(lowerBound: 3, upperBound: 9)))
        received.add(ByteRange(lowerBound: 12, upperBound: 20))
        #expect(received == .repeated)
        received.add(ByteRange(lowerBound: 21, upperBound: 22))
        #expect(received == .repeated)
    }
}

@Suite struct TraceHexTests {
    @Test func everyNibbleValueAtEveryPositionIsItsDigit() {
        for position in 0..<8 {
            for nibble in UInt32(0)..<16 {
                var word = TraceIDs.hexDigits(nibble << (4 * UInt32(7 - position)))
                let text = withUnsafeBytes(of: &word) { String(decoding: $0, as: UTF8.self) }
                var expected = Array(repeating: Character("0"), count: 8)
                expected[position] = Array("0123456789abcdef")[Int(nibble)]
                #expect(text == String(expected))
            }
        }
        var word = TraceIDs.hexDigits(0xdead_beef)
        #expect(withUnsafeBytes(of: &word) { String(decoding: $0, as: UTF8.self) } == "deadbeef")
    }
}
