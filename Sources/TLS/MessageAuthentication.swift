// HMAC-SHA-256 from libcrypto: the admin page's session cookie is a MAC, so the token itself never leaves the server.
import COpenSSL

public enum MessageAuthentication {
    /// HMAC-SHA-256 of `message` under `key` (32 bytes).
    public static func sha256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                HMAC(
                    EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count, &out, &length)
            }
        }
        // A failed HMAC leaves `out` zero: returned, that MAC would be known to anyone and verify a forged cookie.
        precondition(result != nil && length == 32, "HMAC-SHA-256 failed in libcrypto")
        return out
    }
}
