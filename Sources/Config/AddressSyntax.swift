// Parses `host:port` addresses, route host patterns and upstream TLS server names, without resolving any name.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hosts are an IPv4 literal, a DNS name (`localhost` is one), or an IPv6 literal in brackets.
/// Names are only checked for shape here; the proxy resolves them off the event loops.
enum AddressSyntax {
    private static let example = "like \"127.0.0.1:8080\" or \"[::1]:8080\""

    static func parseHostPort(_ text: String) throws(InvalidValue) -> HostPort {
        let shown = text.debugDescription
        let host: Substring
        let port: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw InvalidValue("\(shown) has no closing \"]\"; expected host:port \(example)")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let afterBracket = text[text.index(after: close)...]
            guard afterBracket.isEmpty || afterBracket.first == ":" else {
                throw InvalidValue("\(shown) has text after \"]\" that is not a port; expected host:port \(example)")
            }
            port = afterBracket.isEmpty ? nil : afterBracket.dropFirst()
            guard isIPv6(host) else { throw InvalidValue("\(String(host).debugDescription) is not an IPv6 address") }
        } else {
            // An unbracketed IPv6 literal cannot be told apart from its port, hence the brackets.
            guard text.filter({ $0 == ":" }).count <= 1 else {
                throw InvalidValue("\(shown): an IPv6 address must be in brackets, like \"[::1]:8080\"")
            }
            let colon = text.firstIndex(of: ":")
            host = text[..<(colon ?? text.endIndex)]
            port = colon.map { text[text.index(after: $0)...] }
            guard !host.isEmpty else { throw InvalidValue("\(shown) has no host; expected host:port \(example)") }
            try checkHost(host)
        }
        guard let port, !port.isEmpty else {
            throw InvalidValue("\(shown) has no port; expected host:port \(example)")
        }
        guard port.allSatisfy(\.isASCIIDigit), let number = Int(port), (1...65535).contains(number) else {
            throw InvalidValue("port \(port) is not in 1...65535")
        }
        return HostPort(host: String(host), port: UInt16(number))
    }

    /// A route's `match.host`: an exact host, or `*.suffix` for any subdomain of suffix.
    /// Lowercased, since the proxy compares it with the lowercased `Host` header.
    static func parseHostPattern(_ text: String) throws(InvalidValue) -> String {
        let pattern = text.lowercased()
        let name = pattern.hasPrefix("*.") ? pattern.dropFirst(2) : Substring(pattern)
        guard isDNSName(name) else {
            throw InvalidValue("\(text.debugDescription) is not a host name or \"*.\" followed by one")
        }
        return pattern
    }

    /// An arm's `tls.serverName`: a DNS name, or an IPv4 or IPv6 address (brackets optional) that the
    /// certificate must then carry as an IP subjectAltName. Lowercased: names match case-insensitively,
    /// and one spelling keeps the upstream pools of equal settings together.
    static func parseServerName(_ text: String) throws(InvalidValue) -> String {
        let name = text.hasPrefix("[") && text.hasSuffix("]") ? text.dropFirst().dropLast() : Substring(text)
        if name.contains(":") {
            guard isIPv6(name) else { throw InvalidValue("\(text.debugDescription) is not a host name or an IP address") }
            return name.lowercased()
        }
        guard !name.isEmpty else { throw InvalidValue("must not be empty") }
        try checkHost(name)
        return name.lowercased()
    }

    /// Digits and dots only must be a dotted quad: "10.0.0.256" is a typo, not a DNS name.
    private static func checkHost(_ host: Substring) throws(InvalidValue) {
        let shown = String(host).debugDescription
        if host.allSatisfy({ $0.isASCIIDigit || $0 == "." }) {
            guard isIPv4(host) else { throw InvalidValue("\(shown) is not an IPv4 address") }
        } else {
            guard isDNSName(host) else { throw InvalidValue("\(shown) is not a host name") }
        }
    }

    /// RFC 1123 labels, plus "_", which container runtimes allow in service names.
    private static func isDNSName(_ name: Substring) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count)
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isWholeNumber || $0 == "-" || $0 == "_") }
                && label.first != "-" && label.last != "-"
        }
    }

    private static func isIPv4(_ text: Substring) -> Bool { converts(text, family: AF_INET) }

    private static func isIPv6(_ text: Substring) -> Bool { converts(text, family: AF_INET6) }

    private static func converts(_ text: Substring, family: Int32) -> Bool {
        var address = in6_addr()  // large enough for either family
        return inet_pton(family, String(text), &address) == 1
    }
}
