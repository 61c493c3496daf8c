// Whether an address as written reaches this host only (127.0.0.0/8, ::1, localhost).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HostPort {
    /// A wildcard (0.0.0.0, ::), another address or a DNS name other than `localhost` may be reached from elsewhere.
    public var isLoopback: Bool {
        if host.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in
                // ::1, or ::ffff:127.x.y.z (an IPv4 loopback client of a dual-stack socket).
                bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
                    || bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
            }
        }
        return false
    }
}
