// Decodes the top-level `alerts` list: named receivers with a type, a URL, a minimum severity, a timeout and retries.
import Yams

extension AlertConfig {
    /// Names are unique: metrics and logs name a receiver by them.
    static func decodeList(_ node: ConfigNode) -> [AlertConfig]? {
        var names = DuplicateCheck<String>()
        return node.list(atLeastOne: false) { item in
            item.mapping { m in
                let name = m.required("name") { node in
                    node.nonEmptyString().flatMap { names.claim($0, shown: $0.debugDescription, at: node) }
                }
                let type = m.required("type") { $0.oneOf(AlertType.self, noun: "an alert type") }
                let url = m.required("url") {
                    $0.scalar(expected: "a string like \"https://hooks.slack.com/services/…\"", HookConfig.parseURL)
                }
                let severity = m.optional("severity", default: .warn) { $0.oneOf(AlertSeverity.self, noun: "a severity") }
                let timeout = m.optional("timeout", default: .seconds(5)) { $0.duration() }
                let retries = m.optional("retries", default: 3) { $0.integer(in: 0...10) }
                let caFile = m.optional("caFile", HookConfig.decodeCAFile)
                if m.isWritten("caFile"), url?.scheme == .http { m.report("caFile", "needs an https:// url") }
                guard let name, let type, let url, let severity, let timeout, let retries else { return nil }
                var alert = AlertConfig(name: name, type: type, url: url.text)
                alert.severity = severity
                alert.timeout = timeout
                alert.retries = retries
                alert.caFile = caFile
                return alert
            }
        }
    }
}
