// Helpers shared by the HTTP tests: parse byte fixtures whole or piecewise, read ranges back as text, seeded randomness.

@testable import HTTP
import Testing

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func string(_ range: ByteRange?, in buffer: [UInt8]) -> String? {
    guard let range else { return nil }
    return String(decoding: buffer[range.lowerBound..<range.upperBound], as: UTF8.self)
}

func parseRequest(
    _ raw: [UInt8], maxHeaderBytes: Int = 8192, maxHeaderCount: Int = 64
) -> (RequestHeadParser.Result, RequestHead) {
    var parser = RequestHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    var head = RequestHead()
    let result = raw.withUnsafeBytes { parser.parse($0, into: &head) }
    return (result, head)
}

func parseRequest(_ text: String, maxHeaderBytes: Int = 8192, maxHeaderCount: Int = 64) -> (RequestHeadParser.Result, RequestHead) {
    parseRequest(bytes(text), maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
}

/// Feeds growing prefixes, each in a freshly allocated buffer (so nothing may depend on the buffer's address),
/// and stops at the first result that is not `.incomplete`.
func parseRequestIncrementally(
    _ raw: [UInt8], cuts: [Int], maxHeaderBytes: Int = 8192, maxHeaderCount: Int = 64
) -> (RequestHeadParser.Result, RequestHead) {
    var parser = RequestHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    var head = RequestHead()
    var result = RequestHeadParser.Result.incomplete
    for cut in cuts + [raw.count] {
        let prefix = Array(raw[..<cut])
        result = prefix.withUnsafeBytes { parser.parse($0, into: &head) }
        if result != .incomplete { break }
    }
    return (result, head)
}

func parseResponse(
    _ raw: [UInt8], method: HTTPMethod = .get, maxHeaderBytes: Int = 8192, maxHeaderCount: Int = 64
) -> (RequestHeadParser.Result, ResponseHead) {
    var parser = ResponseHeadParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    var head = ResponseHead()
    let result = raw.withUnsafeBytes { parser.parse($0, requestMethod: method, into: &head) }
    return (result, head)
}

func parseResponse(_ text: String, method: HTTPMethod = .get) -> (RequestHeadParser.Result, ResponseHead) {
    parseResponse(bytes(text), method: method)
}

func status(_ result: RequestHeadParser.Result) -> Int? {
    if case .error(let e) = result { return e.status }
    return nil
}

/// The field names (as received) of the fields that would be forwarded.
func forwardedNames(_ headers: [HeaderField], in buffer: [UInt8]) -> [String] {
    headers.filter { !$0.isHopByHop }.map { string($0.name, in: buffer)! }
}

/// A fixture that must be rejected with `status`.
struct Rejected: Sendable, CustomTestStringConvertible {
    let name: String
    let raw: [UInt8]
    let status: Int

    init(_ name: String, _ raw: String, _ status: Int = 400) {
        self.name = name
        self.raw = Array(raw.utf8)
        self.status = status
    }

    init(_ name: String, raw: [UInt8], _ status: Int = 400) {
        self.name = name
        self.raw = raw
        self.status = status
    }

    var testDescription: String { name }
}

/// SplitMix64: tiny, fast, and the same sequence on every platform, so failures reproduce.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
