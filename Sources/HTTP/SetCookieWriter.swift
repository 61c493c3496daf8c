// Writes session affinity's Set-Cookie fields: the cookie pinning a client's position, and the removal of another.

/// The cookie's value is `v1.<position>.<tag>`: a format version, the client's position (decimal,
/// 0..<2^32) and the rollout's tag, which tells a cookie of this rollout from one of another.
/// Attributes are rendered once per config (`attributes`), so a response only copies bytes.
public enum SetCookieWriter {
    /// "; Max-Age=…; Domain=…; Path=…; SameSite=…; Secure; HttpOnly", for the cookie that pins a
    /// client; with `removal`, the same attributes with "Max-Age=0", which makes a browser drop a
    /// cookie of that name, domain and path (RFC 6265 §5.3 step 11). Called when a config is compiled.
    public static func attributes(
        maxAge: Int, domain: String?, path: String, sameSite: String?, secure: Bool, httpOnly: Bool, removal: Bool
    ) -> [UInt8] {
        var text = "; Max-Age=\(removal ? 0 : maxAge)"
        if let domain { text += "; Domain=\(domain)" }
        text += "; Path=\(path)"
        if let sameSite { text += "; SameSite=\(sameSite)" }
        if secure { text += "; Secure" }
        if httpOnly { text += "; HttpOnly" }
        return Array(text.utf8)
    }

    /// `name=v1.<position>.<tag><attributes>`, as an HTTP/1.1 field line ("Set-Cookie: …\r\n") when
    /// `line`, else the field's value alone (HTTP/2). Returns bytes written, or nil when `out` is too small.
    public static func writeAssignment(
        name: UnsafeRawBufferPointer, position: UInt32, tag: UnsafeRawBufferPointer, attributes: UnsafeRawBufferPointer,
        line: Bool, into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var w = ByteWriter(out)
        if line { w.write("Set-Cookie: ") }
        w.write(name)
        w.write("=v1.")
        w.writeDecimal(UInt64(position))
        w.write(byte: UInt8(ascii: "."))
        w.write(tag)
        w.write(attributes)
        if line { w.write("\r\n") }
        return w.result
    }

    /// `name=<removal attributes>`: an empty value that expires at once (see `attributes`).
    public static func writeRemoval(
        name: UnsafeRawBufferPointer, attributes: UnsafeRawBufferPointer, line: Bool, into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var w = ByteWriter(out)
        if line { w.write("Set-Cookie: ") }
        w.write(name)
        w.write(byte: UInt8(ascii: "="))
        w.write(attributes)
        if line { w.write("\r\n") }
        return w.result
    }

    /// The position a cookie value of this format and `tag` carries; nil for any other value (another
    /// rollout's tag, another format, a value a client made up badly).
    public static func position(in value: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer) -> UInt32? {
        // "v1." + 1...10 digits + "." + tag
        let digitsEnd = value.count - tag.count - 1
        guard digitsEnd > 3, digitsEnd <= 13, value[0] == UInt8(ascii: "v"), value[1] == UInt8(ascii: "1"),
            value[2] == UInt8(ascii: "."), value[digitsEnd] == UInt8(ascii: ".")
        else { return nil }
        // A plain loop: the generic `elementsEqual` over a rebased slice cost ~150 instructions here.
        for i in 0..<tag.count where value[digitsEnd + 1 + i] != tag[i] { return nil }
        // No leading zero: one position, one spelling.
        if value[3] == UInt8(ascii: "0") && digitsEnd > 4 { return nil }
        var n: UInt64 = 0
        for i in 3..<digitsEnd {
            let d = value[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            n = n * 10 + UInt64(d)
        }
        return n <= UInt64(UInt32.max) ? UInt32(n) : nil
    }
}
