// H2HeaderBlockWatch: which frame headers leave a header block open, across any split of the bytes.
import HTTP2
import Testing

@Suite struct HeaderBlockWatchTests {
    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private static func frame(_ type: UInt8, _ flags: UInt8, stream: UInt32 = 1, payload: Int) -> [UInt8] {
        [
            UInt8(payload >> 16 & 0xFF), UInt8(payload >> 8 & 0xFF), UInt8(payload & 0xFF), type, flags,
            UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF),
        ]
            + [UInt8](repeating: 0x04, count: payload)  // payload bytes that look like END_HEADERS flags, to be skipped
    }

    /// Feeds `bytes` in pieces of `step` and reports `isOpen` after each frame boundary given.
    private static func openAfter(_ frames: [[UInt8]], step: Int) -> [Bool] {
        var watch = H2HeaderBlockWatch()
        var result: [Bool] = []
        for piece in [preface] + frames {
            var i = 0
            while i < piece.count {
                let end = min(piece.count, i + step)
                piece[i..<end].withUnsafeBytes { watch.scan($0) }
                i = end
            }
            result.append(watch.isOpen)
        }
        return Array(result.dropFirst())
    }

    @Test(arguments: [1, 2, 7, 9, 4096])
    func followsHeadersAndContinuations(step: Int) {
        let frames = [
            Self.frame(0x4, 0, stream: 0, payload: 6),  // SETTINGS
            Self.frame(0x1, 0x1, payload: 20),  // HEADERS, END_STREAM only: open
            Self.frame(0x9, 0x0, payload: 3),  // CONTINUATION: still open
            Self.frame(0x9, 0x4, payload: 0),  // CONTINUATION, END_HEADERS: closed
            Self.frame(0x0, 0x0, payload: 100),  // DATA
            Self.frame(0x1, 0x5, stream: 3, payload: 10),  // HEADERS with END_HEADERS
            Self.frame(0x5, 0x0, payload: 8),  // PUSH_PROMISE without END_HEADERS: open
            Self.frame(0x9, 0x4, payload: 2),
        ]
        #expect(Self.openAfter(frames, step: step) == [false, true, true, false, false, false, true, false])
    }

    @Test func aHeaderFrameIsOpenUntilItsLastPayloadByte() {
        var watch = H2HeaderBlockWatch()
        Self.preface.withUnsafeBytes { watch.scan($0) }
        let headers = Self.frame(0x1, 0x5, payload: 4)  // END_HEADERS: complete once its payload is in
        var seen: [Bool] = []
        for byte in headers {
            [byte].withUnsafeBytes { watch.scan($0) }
            seen.append(watch.isOpen)
        }
        #expect(seen == Array(repeating: false, count: 8) + Array(repeating: true, count: 4) + [false])
    }
}
