// A canary's cohort rules as plain values: Flagger's `analysis.match` entries (headers, cookies, method, path prefix).

/// One entry of `canary.match`: a request is in the cohort when it meets every condition written in
/// the entry (AND); the route's entries are alternatives (OR). An entry has at least one condition.
public struct CohortEntry: Sendable, Equatable {
    /// Field names lower-case (field names are case-insensitive), in the order written.
    public var headers: [NamedCondition] = []
    /// Cookie names as written (cookie names are case-sensitive).
    public var cookies: [NamedCondition] = []
    /// A method token, compared case-sensitively (RFC 9110 §9.1).
    public var method: String?
    /// Starts with "/"; compared with the request's path, without its query.
    public var pathPrefix: String?
    public init() {}
}

/// `NAME: { exact | prefix | regex: … }` under `headers` or `cookies`.
public struct NamedCondition: Sendable, Equatable {
    public var name: String
    public var value: ValueCondition
    public init(name: String, value: ValueCondition) { self.name = name; self.value = value }
}

/// How a header's or cookie's value is compared; an absent header or cookie never matches.
public enum ValueCondition: Sendable, Equatable {
    case exact(String)
    case prefix(String)
    /// Canarygate's dialect (`ByteRegex`), compiled when the config is loaded.
    case regex(ByteRegex)
}
