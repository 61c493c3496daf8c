// An IPv4/IPv6 socket address held by value, resolved once off the event loops.
import CLinuxShims
import Glibc

public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    public private(set) var storage: sockaddr_storage
    public private(set) var length: socklen_t

    public var family: Int32 { Int32(storage.ss_family) }

    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        guard a.length == b.length else { return false }
        return withUnsafeBytes(of: a.storage) { x in
            withUnsafeBytes(of: b.storage) { y in memcmp(x.baseAddress!, y.baseAddress!, Int(a.length)) == 0 }
        }
    }

    /// Resolves `host` (IP literal or name) and `port` to the first usable address. Blocking: call it off the loops.
    public static func resolve(host: String, port: UInt16) throws(AddressError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw AddressError(text: "cannot resolve \(host): \(reason)")
        }
        defer { freeaddrinfo(list) }
        var storage = sockaddr_storage()
        let length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.baseAddress!.copyMemory(from: UnsafeRawPointer(first.pointee.ai_addr), byteCount: Int(length))
        }
        return SocketAddress(storage: storage, length: length)
    }

    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// The numeric host as text ("127.0.0.1", "::1"), written into `out`; returns the byte count, 0
    /// when `out` is too small. Used for X-Forwarded-For without building a String per request.
    public func writeNumericHost(into out: UnsafeMutableRawBufferPointer) -> Int {
        withUnsafeBytes(of: storage) { raw -> Int in
            if family == AF_INET {
                let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                return Self.writeDottedQuad(UInt32(bigEndian: sin.pointee.sin_addr.s_addr), into: out)
            }
            // inet_ntop needs room for a NUL after the text, which the count returned leaves out.
            let sin6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
            var addr = sin6.pointee.sin6_addr
            let chars = out.baseAddress!.assumingMemoryBound(to: CChar.self)
            return inet_ntop(AF_INET6, &addr, chars, socklen_t(out.count)) == nil ? 0 : strlen(chars)
        }
    }

    /// `address` (host order) as "a.b.c.d". Written here rather than by inet_ntop, whose sprintf cost
    /// ~1,700 instructions per accepted connection, 8% of a `Connection: close` request (callgrind).
    static func writeDottedQuad(_ address: UInt32, into out: UnsafeMutableRawBufferPointer) -> Int {
        guard out.count >= 15 else { return 0 }
        var at = 0
        for index in 0..<4 {
            let octet = UInt8(truncatingIfNeeded: address >> (24 - 8 * index))
            if index > 0 {
                out[at] = UInt8(ascii: ".")
                at += 1
            }
            if octet >= 100 {
                out[at] = UInt8(ascii: "0") + octet / 100
                at += 1
            }
            if octet >= 10 {
                out[at] = UInt8(ascii: "0") + octet / 10 % 10
                at += 1
            }
            out[at] = UInt8(ascii: "0") + octet % 10
            at += 1
        }
        return at
    }

    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            family == AF_INET
                ? UInt16(bigEndian: raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port)
                : UInt16(bigEndian: raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port)
        }
    }

    public var description: String {
        let host = NumericHost(self).text
        return family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

public struct AddressError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var description: String { text }
}
