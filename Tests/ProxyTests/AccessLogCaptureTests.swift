// The access log's capture: which request fields it takes as the referer and the user agent.
@testable import Proxy
import Testing

@Suite struct AccessLogCaptureTests {
    private func matches(_ name: [UInt8], _ test: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        name.withUnsafeBytes { test($0) }
    }

    /// Every name that differs from `lowercase` in one byte other than a letter's case is refused; every
    /// mix of cases is taken.
    private func checkExactIgnoringCase(_ lowercase: String, _ test: (UnsafeRawBufferPointer) -> Bool) {
        let name = Array(lowercase.utf8)
        let plain = matches(name, test)
        let shouted = matches(Array(lowercase.uppercased().utf8), test)
        #expect(plain && shouted)
        for i in name.indices {
            var upper = name
            upper[i] = Array(String(UnicodeScalar(name[i])).uppercased().utf8)[0]
            let taken = matches(upper, test)
            #expect(taken, "\(String(decoding: upper, as: UTF8.self))")
            for b in 0...255 where UInt8(b) != name[i] && UInt8(b) != upper[i] {
                var other = name
                other[i] = UInt8(b)
                let refused = !matches(other, test)
                #expect(refused, "byte \(b) at \(i) of \(lowercase)")
            }
        }
    }

    @Test func refererIsMatchedIgnoringCaseOnly() {
        checkExactIgnoringCase("referer", AccessLogCapture.isReferer)
    }

    @Test func userAgentIsMatchedIgnoringCaseOnly() {
        checkExactIgnoringCase("user-agent", AccessLogCapture.isUserAgent)
        // The dash has no case: its 0x20 bit is not folded ("user\ragent" is not the user agent).
        let carriageReturn = matches(Array("user\ragent".utf8), AccessLogCapture.isUserAgent)
        #expect(!carriageReturn)
    }
}
