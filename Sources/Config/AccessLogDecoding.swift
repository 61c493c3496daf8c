// Decodes `accessLog:`: path (required), format (json or combined), sample in (0, 1].

extension AccessLogConfig {
    static func decode(_ node: ConfigNode) -> AccessLogConfig? {
        node.mapping { m in
            let path = m.required("path") { node -> String? in
                node.nonEmptyString().flatMap { path -> String? in
                    guard !path.hasSuffix("/") else {
                        node.report("\(path.debugDescription) is a directory; name the log file")
                        return nil
                    }
                    return path
                }
            }
            let format = m.optional("format", default: Format.json) { $0.oneOf(Format.self, noun: "an access-log format") }
            let sample = m.optional("sample", default: 1.0) { $0.number(NumberBounds(lower: (0, false), upper: (1, true))) }
            guard let path, let format, let sample else { return nil }
            return AccessLogConfig(path: path, format: format, sample: sample)
        }
    }
}
