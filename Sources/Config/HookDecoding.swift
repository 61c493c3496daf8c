// Decodes `analysis.webhooks`: Flagger's hook types, each an HTTP webhook (`url`) or a command to run (`command`).

extension HookConfig {
    /// Names are unique per route: events, `/status` and logs name a hook by them.
    static func decodeList(_ node: ConfigNode) -> [HookConfig]? {
        var names = DuplicateCheck<String>()
        return node.list(atLeastOne: false) { item in
            item.mapping { m in
                let name = m.required("name") { node in
                    node.nonEmptyString().flatMap { names.claim($0, shown: $0.debugDescription, at: node) }
                }
                let type = m.required("type") { $0.scalar(expected: "a string", parseType) }
                let url = m.optional("url") { $0.scalar(expected: "a string like \"http://127.0.0.1:8080/hook\"", parseURL) }
                let headers = m.optional("headers", WebhookHeader.decodeList)
                let caFile = m.optional("caFile", decodeCAFile)
                let command = m.optional("command") { node in
                    node.list(atLeastOne: true) { $0.nonEmptyString() }
                }
                let timeout = m.optional("timeout") { $0.duration() }
                let retries = m.optional("retries") { $0.integer(in: 0...10) }
                let metadata = m.optional("metadata") { $0.stringMap() }
                switch (m.isWritten("url"), m.isWritten("command")) {
                case (true, true): m.report("command", "cannot be combined with url; write one of them")
                case (false, false): m.mapping.report("needs a url or a command")
                default: break
                }
                if !m.isWritten("url") {
                    for key in ["headers", "caFile"] where m.isWritten(key) { m.report(key, "only a webhook (url) takes \(key)") }
                } else if m.isWritten("caFile"), url?.scheme == .http {
                    m.report("caFile", "needs an https:// url")
                }
                let action = url.map { Action.webhook(url: $0.text, headers: headers ?? [], caFile: caFile) } ?? command.map(Action.exec)
                guard let name, let type, let action else { return nil }
                var hook = HookConfig(name: name, type: type, action: action)
                hook.timeout = timeout ?? hook.timeout
                hook.retries = retries ?? hook.retries
                hook.metadata = metadata ?? hook.metadata
                return hook
            }
        }
    }

    private static func parseType(_ text: String) throws(InvalidValue) -> HookType {
        guard let type = HookType(rawValue: text) else {
            let valid = HookType.allCases.map(\.rawValue).joined(separator: ", ")
            throw InvalidValue("\(text.debugDescription) is not a webhook type; use one of \(valid)")
        }
        return type
    }

    /// Checked with the hook client's own parser, so that a URL the config accepts is one it can call.
    /// The message never repeats the URL (see `WebhookURL`): field and line locate it.
    private static func parseURL(_ text: String) throws(InvalidValue) -> (text: String, scheme: WebhookURL.Scheme) {
        switch WebhookURL.parse(text) {
        case .success(let url): return (text, url.scheme)
        case .failure(let error): throw InvalidValue(error.message)
        }
    }
}
