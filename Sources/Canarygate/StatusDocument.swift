// The JSON of GET /status: routes with their weights, revisions and endpoints.
import Config

enum StatusDocument {
    static func render(_ state: ServerState) -> String {
        let snapshot = state.snapshot
        let reloads = state.reloads
        let config = snapshot.config
        let routes = config.routes.map { route -> String in
            var fields = [
                "\"name\":\(json(route.name))",
                "\"canaryWeight\":\(route.canary?.weight ?? 0)",
                "\"match\":{\"host\":\(route.match.host.map(json) ?? "null"),\"pathPrefix\":\(json(route.match.pathPrefix))}",
                "\"primary\":\(arm(route.primary))",
            ]
            fields.append("\"canary\":\(route.canary.map { arm($0.arm) } ?? "null")")
            return "{" + fields.joined(separator: ",") + "}"
        }
        let reload = "{\"generation\":\(snapshot.generation),\"successes\":\(reloads.successes),\"failures\":\(reloads.failures),"
            + "\"lastSuccessUnixTime\":\(Int(reloads.lastSuccessUnixTime)),\"lastError\":\(reloads.lastError.map(json) ?? "null")}"
        return "{\"routes\":[" + routes.joined(separator: ",") + "],\"config\":" + reload + "}"
    }

    private static func arm(_ a: ArmConfig) -> String {
        "{\"revision\":\(json(a.revision)),\"endpoints\":[\(a.endpoints.map { json($0.description) }.joined(separator: ","))]}"
    }

    /// A JSON string literal with the escapes RFC 8259 requires.
    static func json(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
