// Decodes `analysis.webhooks`: Flagger's hook types, each an HTTP webhook (`url`) or a command to run (`command`, `env`, `passEnv`).
import Yams

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
                let environment = m.optional("env", decodeEnvironment)
                let passEnvironment = m.optional("passEnv") { node in
                    node.list(atLeastOne: false) { $0.scalar(expected: "a variable name", parseVariableName) }
                }
                switch (m.isWritten("url"), m.isWritten("command")) {
                case (true, true): m.report("command", "cannot be combined with url; write one of them")
                case (false, false): m.mapping.report("needs a url or a command")
                default: break
                }
                for key in ["env", "passEnv"] where m.isWritten(key) && m.isWritten("url") {
                    m.report(key, "applies to a command only; a webhook has no environment")
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
                hook.environment = environment ?? hook.environment
                hook.passEnvironment = passEnvironment ?? hook.passEnvironment
                return hook
            }
        }
    }

    /// `env: { DEPLOY_ENV: prod }`: shell-style names; `CANARYGATE_*` is the proxy's (the rollout's facts).
    private static func decodeEnvironment(_ node: ConfigNode) -> [String: String]? {
        guard case let .mapping(pairs) = node.node else {
            node.report("expected a mapping of variable names to values")
            return nil
        }
        let problemsBefore = node.log.count
        var map: [String: String] = [:]
        for (key, value) in pairs {
            guard case let .scalar(name) = key else {
                node.log.report(path: node.path, line: key.mark?.line, "keys must be strings")
                continue
            }
            let field = node.child(name.string, value)
            do throws(InvalidValue) {
                _ = try parseVariableName(name.string)
                if name.string.hasPrefix("CANARYGATE_") {
                    throw InvalidValue("CANARYGATE_ names are set by the proxy (the rollout's facts)")
                }
            } catch {
                field.report(error.message)
                continue
            }
            map[name.string] = field.scalar(expected: "a string") { text throws(InvalidValue) in
                guard !text.utf8.contains(0) else { throw InvalidValue("a value cannot hold a NUL character") }
                return text
            }
        }
        return node.log.count == problemsBefore ? map : nil
    }

    /// A name a shell can read back: a letter or `_`, then letters, digits or `_`.
    private static func parseVariableName(_ text: String) throws(InvalidValue) -> String {
        guard let first = text.unicodeScalars.first, first == "_" || ("A"..."Z").contains(first) || ("a"..."z").contains(first),
            text.unicodeScalars.allSatisfy({ $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
            )
        else { throw InvalidValue("\(text.debugDescription) is not a variable name (letters, digits and _, not starting with a digit)") }
        return text
    }

    private static func parseType(_ text: String) throws(InvalidValue) -> HookType {
        guard let type = HookType(rawValue: text) else {
            let valid = HookType.allCases.map(\.rawValue).joined(separator: ", ")
            throw InvalidValue("\(text.debugDescription) is not a webhook type; use one of \(valid)")
        }
        return type
    }

    /// Checked with the hook client's own parser, so that a URL the config accepts is one it can call (alerts' too).
    /// The message never repeats the URL (see `WebhookURL`): field and line locate it.
    static func parseURL(_ text: String) throws(InvalidValue) -> (text: String, scheme: WebhookURL.Scheme) {
        switch WebhookURL.parse(text) {
        case .success(let url): return (text, url.scheme)
        case .failure(let error): throw InvalidValue(error.message)
        }
    }
}
