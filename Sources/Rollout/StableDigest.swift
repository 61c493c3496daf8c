// FNV-1a (64 bits) and fixed-width hex: digests that are the same in every process and version.

/// Unlike `Hasher`, whose seed changes per process: a restarted proxy must compute the same idempotency keys,
/// and replicas the same config fingerprints.
package enum StableDigest {
    /// FNV-1a, 64 bits: offset basis 0xcbf29ce484222325, prime 0x100000001b3.
    package static func fnv1a64<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }

    /// `value` in lower-case hex, zero-padded to 16 digits.
    package static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
