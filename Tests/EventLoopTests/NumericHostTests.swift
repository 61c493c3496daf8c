// A peer's numeric host text: IPv4 formatted by hand must read exactly as inet_ntop would write it.
import Glibc
import Testing
@testable import EventLoop

@Suite struct NumericHostTests {
    private static func ipv4(_ hostOrder: UInt32) -> SocketAddress {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
            sin.pointee.sin_family = sa_family_t(AF_INET)
            sin.pointee.sin_addr.s_addr = hostOrder.bigEndian
        }
        return SocketAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    private static func inetNtop(_ hostOrder: UInt32) -> String {
        var addr = in_addr(s_addr: hostOrder.bigEndian)
        var text = [CChar](repeating: 0, count: 16)
        #expect(inet_ntop(AF_INET, &addr, &text, 16) != nil)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test func ipv4ReadsAsInetNtopWritesIt() {
        // Every octet width at every position, the extremes, and a deterministic spread of the rest.
        var addresses: [UInt32] = [0, 0xFFFF_FFFF, 0x7F00_0001, 0x0A00_6409, 0x0102_0304, 0xC0A8_000A, 0x6463_0A09]
        var state: UInt32 = 0x9E37_79B9
        for _ in 0..<5_000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            addresses.append(state)
        }
        for address in addresses {
            #expect(NumericHost(Self.ipv4(address)).text == Self.inetNtop(address))
        }
    }

    @Test func ipv6IsWrittenInItsShortForm() throws {
        let loopback = try SocketAddress.resolve(host: "::1", port: 80)
        #expect(NumericHost(loopback).text == "::1")
        let mapped = try SocketAddress.resolve(host: "::ffff:10.1.2.3", port: 80)
        #expect(NumericHost(mapped).text == "::ffff:10.1.2.3")
        let full = try SocketAddress.resolve(host: "FFFF:0:0:1:0:0:0:ffff", port: 80)
        #expect(NumericHost(full).text == "ffff:0:0:1::ffff")
        let widest = try SocketAddress.resolve(host: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", port: 80)
        #expect(NumericHost(widest).count == 39)
        #expect(loopback.description == "[::1]:80")
    }

    @Test func aBufferTooSmallGetsNothing() throws {
        let address = Self.ipv4(0xFFFF_FFFF)
        var small = [UInt8](repeating: 0, count: 14)
        #expect(small.withUnsafeMutableBytes { address.writeNumericHost(into: $0) } == 0)
        var exact = [UInt8](repeating: 0, count: 15)
        #expect(exact.withUnsafeMutableBytes { address.writeNumericHost(into: $0) } == 15)
        #expect(Self.ipv4(0x7F00_0001).description == "127.0.0.1:0")
    }
}
