// What every HTML answer of the admin API shares: the per-response nonce, the Content-Security-Policy, escaping.
import Foundation

enum AdminHTML {
    /// 16 random bytes in base64: the one script and style element this response carries may run, nothing else.
    static func nonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    /// Nothing loads from anywhere (no CDN, font or image fetched), scripts and styles only with the nonce, the
    /// script talks only to this API, forms post only here, and no other site may frame the page (clickjacking).
    static func contentSecurityPolicy(nonce: String) -> String {
        "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; connect-src 'self'; img-src data:; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    static func response(status: String = "200 OK", nonce: String, body: String, extraHeaders: [(String, String)] = []) -> AdminResponse {
        AdminResponse(
            status: status, contentType: "text/html; charset=utf-8", body: body,
            extraHeaders: [
                ("Content-Security-Policy", contentSecurityPolicy(nonce: nonce)), ("Cache-Control", "no-store"),
                ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY"),
            ] + extraHeaders)
    }

    /// Text for an element or a double-quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// JSON inside `<script type="application/json">`: `<` escaped so no `</script>` or `<!--` in a string ends it.
    static func scriptJSON(_ json: String) -> String {
        json.replacingOccurrences(of: "<", with: "\\u003c")
    }
}
