// BodyReadSize: body reads toward a TLS peer (a client or an upstream) come in whole records; toward a plain one they take all the space.

@testable import Proxy
import Testing

@Suite struct BodyReadSizeTests {
    @Test func aPlainPeerReadsAllTheSpace() {
        #expect(BodyReadSize.read(space: 17 * 1024, towardTLS: false) == 17 * 1024)
        #expect(BodyReadSize.read(space: 100, towardTLS: false) == 100)
    }

    @Test func aTLSPeerReadsWholeRecords() {
        #expect(BodyReadSize.read(space: 17 * 1024, towardTLS: true) == 16 * 1024)
        #expect(BodyReadSize.read(space: 40 * 1024, towardTLS: true) == 32 * 1024)
        #expect(BodyReadSize.read(space: 16 * 1024, towardTLS: true) == 16 * 1024)
    }

    @Test func lessThanARecordIsReadWhole() {
        #expect(BodyReadSize.read(space: 5000, towardTLS: true) == 5000)
    }
}
