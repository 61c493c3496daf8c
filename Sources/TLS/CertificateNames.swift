// Reads the DNS names a certificate is issued for: its subjectAltName DNS entries, else its subject CN.
import COpenSSL

enum CertificateNames {
    /// As RFC 6125 §6.4.4 has it, the subject CN counts only when there is no DNS subjectAltName
    /// (so a certificate with IP addresses only still answers to its CN). Names are returned as
    /// written; IP addresses, e-mails and URIs are not server names and are left out.
    static func dnsNames(of certificate: OpaquePointer) -> [String] {
        let alternative = subjectAltDNSNames(certificate)
        if !alternative.isEmpty { return alternative }
        return commonName(certificate).map { [$0] } ?? []
    }

    private static func subjectAltDNSNames(_ certificate: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var found: [String] = []
        for index in 0..<cg_GENERAL_NAMES_count(names) {
            guard let entry = cg_GENERAL_NAMES_value(names, index), entry.pointee.type == GEN_DNS,
                let dns = entry.pointee.d.dNSName, let text = string(dns)
            else { continue }
            found.append(text)
        }
        return found
    }

    /// The last CN of the subject (the most specific one, when a subject has several).
    private static func commonName(_ certificate: OpaquePointer) -> String? {
        guard let subject = X509_get_subject_name(certificate) else { return nil }
        var last: Int32 = -1
        var index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
        while index >= 0 {
            last = index
            index = X509_NAME_get_index_by_NID(subject, NID_commonName, index)
        }
        guard last >= 0, let entry = X509_NAME_get_entry(subject, last),
            let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        return string(data)
    }

    /// The string's bytes read as UTF-8. Host names are ASCII in every string type a CA uses for
    /// them; a BMPString CN decodes to something that matches no SNI name, which is harmless.
    private static func string(_ value: UnsafePointer<ASN1_STRING>) -> String? {
        let length = Int(ASN1_STRING_length(value))
        guard length > 0, let bytes = ASN1_STRING_get0_data(value) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self)
    }
}
