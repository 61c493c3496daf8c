// Decodes a webhook's `headers` (plain values, and secrets read from files) and `caFile`, reading the files now.
import Yams

extension WebhookHeader {
    /// The most a header file may hold: a token, not a document.
    static let fileLimit = 8 * 1024

    /// `{ Name: value, Name: { file: /path } }`; names are unique ignoring case, as HTTP compares them.
    static func decodeList(_ node: ConfigNode) -> [WebhookHeader]? {
        guard case let .mapping(pairs) = node.node else {
            node.report("expected a mapping like { Authorization: { file: /etc/canarygate/hook-token } }")
            return nil
        }
        let problemsBefore = node.log.count
        var names = DuplicateCheck<String>()
        var headers: [WebhookHeader] = []
        for (key, value) in pairs {
            guard case let .scalar(scalar) = key else {
                node.log.report(path: node.path, line: key.mark?.line, "keys must be strings")
                continue
            }
            let name = scalar.string
            let entry = node.child(name, value)
            if let problem = problem(withName: name) {
                node.log.report(path: entry.path, line: key.mark?.line, problem)
                continue
            }
            guard names.claim(name.lowercased(), shown: name.debugDescription, path: entry.path, line: key.mark?.line, log: node.log) != nil
            else { continue }
            if let header = decodeValue(entry, name: name) { headers.append(header) }
        }
        return node.log.count == problemsBefore ? headers : nil
    }

    /// A plain string, or `{ file: /path }`. Messages never include a value: even a plain one may be
    /// a credential someone wrote inline.
    private static func decodeValue(_ node: ConfigNode, name: String) -> WebhookHeader? {
        switch node.node {
        case .scalar where !node.isNull:
            return node.scalar(expected: "a string") { text throws(InvalidValue) in
                if let problem = problem(withValue: text) { throw InvalidValue("the value \(problem)") }
                return WebhookHeader(name: name, value: text)
            }
        case .mapping:
            return node.mapping { m in
                m.required("file") { file in file.nonEmptyString().flatMap { readSecret(path: $0, at: file, name: name) } }
            }
        default:
            node.report("expected a string or { file: /path }")
            return nil
        }
    }

    /// The file's contents without the line ending(s) editors and `echo` leave at the end.
    private static func readSecret(path: String, at node: ConfigNode, name: String) -> WebhookHeader? {
        switch ReferencedFile.contents(of: path, limit: fileLimit) {
        case .failure(let unreadable):
            node.report("\(path): \(unreadable.reason)")
            return nil
        case .success(var bytes):
            while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
            // Invalid UTF-8 decodes to U+FFFD, which the value check refuses as not ASCII.
            let value = String(decoding: bytes, as: UTF8.self)
            if let problem = problem(withValue: value) {
                node.report("\(path): the value \(problem)")
                return nil
            }
            return WebhookHeader(name: name, value: value, file: path)
        }
    }
}

extension HookConfig {
    /// A CA bundle is a few hundred KiB at most (Debian's whole trust store is ~200 KiB).
    static let caFileLimit = 4 * 1024 * 1024

    /// `caFile`: read now so that a missing or empty file refuses the config; the hook client loads it
    /// again (through libssl) for each call, so a reload is not needed to pick up a renewed CA.
    static func decodeCAFile(_ node: ConfigNode) -> String? {
        node.nonEmptyString().flatMap { path in
            switch ReferencedFile.contents(of: path, limit: caFileLimit) {
            case .failure(let unreadable):
                node.report("\(path): \(unreadable.reason)")
                return nil
            case .success(let bytes):
                guard String(decoding: bytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                    node.report("\(path): holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
                    return nil
                }
                return path
            }
        }
    }
}
