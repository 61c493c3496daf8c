// ForwardedField: which client Forwarded values are kept (well-formed RFC 7239 lists) and which are dropped.

@testable import HTTP
import Testing

private func valid(_ text: String) -> Bool {
    let raw = bytes(text)
    return raw.withUnsafeBytes { ForwardedField.isValid($0, ByteRange(lowerBound: 0, upperBound: raw.count)) }
}

@Suite struct ForwardedFieldTests {
    @Test(arguments: [
        "for=192.0.2.60;proto=http;by=203.0.113.43", "for=\"[2001:db8:cafe::17]:4711\"",
        "for=192.0.2.43, for=198.51.100.17", "for=unknown ,  for=_hidden,,", ";for=a;;", "a=\"x\\\"y\"",
        "host=\"h:8080\"", "",
    ])
    func wellFormedValuesAreKept(_ text: String) {
        #expect(valid(text), "\(text)")
    }

    /// Each of these, joined ahead of the proxy's element, could change how an upstream reads that element.
    @Test(arguments: [
        "for=\"1.2.3.4", "for=\"a\\", "for", "for=", "=a", "for=a b=c", "for=a;b", "for=a\"b\"",
        "for=[::1]", "for = a", "for=a=b", "for=\"a\"b",
    ])
    func malformedValuesAreDropped(_ text: String) {
        #expect(!valid(text), "\(text)")
    }
}
