// Session affinity's cookie bytes: assignment and removal as HTTP/1.1 lines or HTTP/2 values, and the strict reading back.

@testable import HTTP
import Testing

@Suite struct SetCookieWriterTests {
    private let tag = Array("0a1b2c3d".utf8)

    private func position(_ value: String) -> UInt32? {
        Array(value.utf8).withUnsafeBytes { v in tag.withUnsafeBytes { SetCookieWriter.position(in: v, tag: $0) } }
    }

    @Test func attributesAreRenderedOnceInTheirOrder() {
        let full = SetCookieWriter.attributes(
            maxAge: 86400, domain: "a.example", path: "/", sameSite: "Strict", secure: true, httpOnly: true, removal: false)
        #expect(String(decoding: full, as: UTF8.self) == "; Max-Age=86400; Domain=a.example; Path=/; SameSite=Strict; Secure; HttpOnly")
        let bare = SetCookieWriter.attributes(
            maxAge: 5, domain: nil, path: "/x", sameSite: nil, secure: false, httpOnly: false, removal: true)
        #expect(String(decoding: bare, as: UTF8.self) == "; Max-Age=0; Path=/x")
    }

    @Test func anAssignmentIsALineOrAValue() {
        let attributes = Array("; Path=/".utf8)
        for line in [true, false] {
            var out = [UInt8](repeating: 0, count: 128)
            let n = Array("cg".utf8).withUnsafeBytes { name in
                tag.withUnsafeBytes { tag in
                    attributes.withUnsafeBytes { a in
                        out.withUnsafeMutableBytes {
                            SetCookieWriter.writeAssignment(
                                name: name, position: 4_294_967_295, tag: tag, attributes: a, line: line, into: $0)
                        }
                    }
                }
            }
            let text = String(decoding: out[..<(n ?? 0)], as: UTF8.self)
            #expect(text == (line ? "Set-Cookie: cg=v1.4294967295.0a1b2c3d; Path=/\r\n" : "cg=v1.4294967295.0a1b2c3d; Path=/"))
        }
    }

    @Test func aRemovalHasAnEmptyValue() {
        var out = [UInt8](repeating: 0, count: 64)
        let attributes = Array("; Max-Age=0; Path=/".utf8)
        let n = Array("cg".utf8).withUnsafeBytes { name in
            attributes.withUnsafeBytes { a in
                out.withUnsafeMutableBytes { SetCookieWriter.writeRemoval(name: name, attributes: a, line: true, into: $0) }
            }
        }
        #expect(String(decoding: out[..<(n ?? 0)], as: UTF8.self) == "Set-Cookie: cg=; Max-Age=0; Path=/\r\n")
        var small = [UInt8](repeating: 0, count: 10)
        let none = Array("cg".utf8).withUnsafeBytes { name in
            attributes.withUnsafeBytes { a in
                small.withUnsafeMutableBytes { SetCookieWriter.writeRemoval(name: name, attributes: a, line: true, into: $0) }
            }
        }
        #expect(none == nil)
    }

    @Test func onlyThisFormatAndTagGiveAPosition() {
        #expect(position("v1.0.0a1b2c3d") == 0)
        #expect(position("v1.123.0a1b2c3d") == 123)
        #expect(position("v1.4294967295.0a1b2c3d") == .max)
        #expect(position("v1.4294967296.0a1b2c3d") == nil)  // beyond 32 bits
        #expect(position("v1.0123.0a1b2c3d") == nil)  // a leading zero
        #expect(position("v1.12.0a1b2c3e") == nil)  // another rollout
        #expect(position("v2.12.0a1b2c3d") == nil)
        #expect(position("v1..0a1b2c3d") == nil)
        #expect(position("v1.1x.0a1b2c3d") == nil)
        #expect(position("v1.12345678901.0a1b2c3d") == nil)
        #expect(position("") == nil)
        #expect(position("0a1b2c3d") == nil)
    }
}
