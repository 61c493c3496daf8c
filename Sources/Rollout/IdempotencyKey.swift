// The idempotency key a hook request carries: the same for every run of one hook in one rollout, restarts included.
import Config

/// `<route>/<canary revision>/<rollout number>/<hook type>/<hook name>`, and for `event` hooks
/// `/<phase>/<weight>/<message digest>` after it.
///
/// Hooks can run more than once per rollout (a restart re-issues the current stage's hook, a failover
/// resumes from the stored state); the key lets the receiver tell a repeat from a new request: it is built
/// only from what the persisted state holds (`RolloutState.rolloutNumber` counts rollouts, so a retry of
/// the same revision is a new key). `event` hooks are notifications of transitions, many per stage, so
/// their key also names the transition: a key for the stage alone would make a deduplicating receiver
/// drop every event after the first (each failed check, a pause and its resume, at the same weight).
///
/// Each part is percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`): revisions and hook names are any
/// strings, and the key must be a valid header value whose `/` separate the parts unambiguously.
enum IdempotencyKey {
    static func hook(route: String, revision: String, rolloutNumber: Int, type: HookType, name: String) -> String {
        [route, revision, String(rolloutNumber), type.rawValue, name].map(percentEncoded).joined(separator: "/")
    }

    static func event(route: String, revision: String, rolloutNumber: Int, name: String, entry: RolloutEventLog) -> String {
        hook(route: route, revision: revision, rolloutNumber: rolloutNumber, type: .event, name: name) + "/"
            + [entry.phase.rawValue, String(entry.weight), digest(entry.message)].map(percentEncoded).joined(separator: "/")
    }

    static func percentEncoded(_ part: String) -> String {
        var encoded = ""
        for byte in part.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return encoded
    }

    /// FNV-1a (64 bits) of the message, 16 hex digits: the same in every process and version, unlike `Hasher`,
    /// whose seed changes per process and would give a restarted proxy other keys for the same event.
    static func digest(_ message: String) -> String {
        StableDigest.hex16(StableDigest.fnv1a64(message.utf8))
    }
}

extension RolloutState {
    /// The key of `hook`'s request in this rollout (see `IdempotencyKey`).
    public func idempotencyKey(for hook: HookConfig) -> String {
        IdempotencyKey.hook(
            route: route, revision: canaryRevision ?? "", rolloutNumber: rolloutNumber ?? 0, type: hook.type, name: hook.name)
    }

    /// The key of an `event` hook's request telling of `entry` (see `IdempotencyKey`).
    public func idempotencyKey(forEvent hook: HookConfig, _ entry: RolloutEventLog) -> String {
        IdempotencyKey.event(route: route, revision: canaryRevision ?? "", rolloutNumber: rolloutNumber ?? 0, name: hook.name, entry: entry)
    }
}
