// What a hook is told about the rollout: the webhook's JSON body and the exec hook's environment variables.
import Config
import Foundation

/// The webhook body, Flagger's payload (`name`, `phase`, `metadata`) plus what Canarygate knows besides.
/// `name` is the hook's name (Flagger sends the canary's; here that is `route`).
struct WebhookPayload: Encodable, Equatable {
    var name: String
    var type: String
    var route: String
    var phase: String
    var revision: String
    var weight: Int
    var metadata: [String: String]
    /// Only in an undo's `rollback` hooks (absent from the JSON otherwise).
    var previousRevision: String?
    /// Also sent as the `Idempotency-Key` header.
    var idempotencyKey: String

    init(_ request: HookRequest) {
        name = request.hook.name
        type = request.hook.type.rawValue
        route = request.route
        phase = request.phase
        revision = request.revision
        weight = request.weight
        metadata = request.hook.metadata
        previousRevision = request.previousRevision
        idempotencyKey = request.idempotencyKey
    }

    /// Compact JSON with sorted keys, so a body is the same bytes for the same facts.
    func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, an Int and a [String: String] cannot fail to encode.
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }
}

/// The exec hook's `CANARYGATE_*` variables.
enum HookEnvironment {
    static func variables(for request: HookRequest) -> [String: String] {
        var variables = [
            "CANARYGATE_ROUTE": request.route,
            "CANARYGATE_HOOK": request.hook.name,
            "CANARYGATE_HOOK_TYPE": request.hook.type.rawValue,
            "CANARYGATE_PHASE": request.phase,
            "CANARYGATE_REVISION": request.revision,
            "CANARYGATE_WEIGHT": String(request.weight),
            "CANARYGATE_IDEMPOTENCY_KEY": request.idempotencyKey,
        ]
        if let previous = request.previousRevision { variables["CANARYGATE_PREVIOUS_REVISION"] = previous }
        for (key, value) in request.hook.metadata {
            variables["CANARYGATE_META_" + metaName(key)] = value
        }
        return variables
    }

    /// `dry-run` → `DRY_RUN`: uppercased, and anything a shell variable name cannot hold becomes `_`.
    static func metaName(_ key: String) -> String {
        String(
            key.uppercased().unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "A"..."Z", "0"..."9", "_": Character(scalar)
                default: "_"
                }
            })
    }

    /// `KEY=VALUE` strings: the parent's variables named in `pass` (nothing else of the proxy's: it may hold
    /// secrets a hook has no business reading), then `configured` (the hook's `env:`), then `extra`, then
    /// `facts`, later ones winning.
    static func entries(
        parent: [String], pass: [String], configured: [String: String], extra: [String: String],
        facts: [String: String]
    ) -> [String] {
        var overrides = configured
        for (key, value) in extra { overrides[key] = value }
        for (key, value) in facts { overrides[key] = value }
        let passed = Set(pass)
        var entries = parent.filter { entry in
            guard let equals = entry.firstIndex(of: "=") else { return false }
            let name = String(entry[..<equals])
            return passed.contains(name) && overrides[name] == nil
        }
        entries += overrides.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return entries
    }
}
