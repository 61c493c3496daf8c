// A stream's JSON messages split out of its body, whatever the chunk boundaries, and bounded in size.
import Testing

@testable import Cluster

@Suite struct JSONLineSplitterTests {
    private static func append(_ splitter: inout JSONLineSplitter, _ text: String) throws(EtcdError) -> [String] {
        try Array(text.utf8).withBytes { bytes throws(EtcdError) in try splitter.append(bytes) }.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func messagesSplitAcrossAppendsComeOutWholeAndInOrder() throws {
        var splitter = JSONLineSplitter(maxLineBytes: 1024)
        #expect(try Self.append(&splitter, "{\"a\":") == [])
        #expect(try Self.append(&splitter, "1}\n{\"b\":2}\n{\"c\"") == ["{\"a\":1}", "{\"b\":2}"])
        #expect(try Self.append(&splitter, ":3}\n") == ["{\"c\":3}"])
    }

    @Test func blankLinesAreSkipped() throws {
        var splitter = JSONLineSplitter(maxLineBytes: 1024)
        #expect(try Self.append(&splitter, "\n\r\n{}\r\n") == ["{}\r"])
    }

    @Test func aMessageLargerThanTheBoundIsAnError() throws {
        var splitter = JSONLineSplitter(maxLineBytes: 8)
        #expect(try Self.append(&splitter, "12345678") == [])
        #expect(throws: EtcdError.self) { try Self.append(&splitter, "9") }
        var whole = JSONLineSplitter(maxLineBytes: 8)
        #expect(throws: EtcdError.self) { try Self.append(&whole, "123456789\n") }
    }
}
