// BodyReadSize: response-body reads for TLS clients come in whole records, plain clients read all the space.

@testable import Proxy
import Testing

@Suite struct BodyReadSizeTests {
    @Test func aPlainClientReadsAllTheSpace() {
        #expect(BodyReadSize.responseRead(space: 17 * 1024, clientTLS: false) == 17 * 1024)
        #expect(BodyReadSize.responseRead(space: 100, clientTLS: false) == 100)
    }

    @Test func aTLSClientReadsWholeRecords() {
        #expect(BodyReadSize.responseRead(space: 17 * 1024, clientTLS: true) == 16 * 1024)
        #expect(BodyReadSize.responseRead(space: 40 * 1024, clientTLS: true) == 32 * 1024)
        #expect(BodyReadSize.responseRead(space: 16 * 1024, clientTLS: true) == 16 * 1024)
    }

    @Test func lessThanARecordIsReadWhole() {
        #expect(BodyReadSize.responseRead(space: 5000, clientTLS: true) == 5000)
    }
}
