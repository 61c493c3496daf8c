// Which certificate answers a server name: an exact name first, then a one-label wildcard, else the default.

/// Indexes into a `TLSContext`'s certificates; index 0 is the default certificate.
struct ServerNameTable: Sendable {
    private var exact: [String: Int] = [:]
    /// `*.example.com` is stored under `example.com`.
    private var wildcard: [String: Int] = [:]

    /// `names[i]` are the names of certificate `i`. A name two certificates share stays with the
    /// earlier one, so the order of the configuration decides, as it does for the default.
    init(_ names: [[String]]) {
        for (index, certificateNames) in names.enumerated() {
            for name in certificateNames.map({ $0.lowercased() }) {
                if name.hasPrefix("*.") {
                    let parent = String(name.dropFirst(2))
                    // Only a whole leftmost label may be a wildcard (RFC 6125 §6.4.3 allows the
                    // `f*.example.com` forms, browsers do not); those names are never matched.
                    guard !parent.isEmpty, !parent.contains("*") else { continue }
                    if wildcard[parent] == nil { wildcard[parent] = index }
                } else if !name.contains("*"), exact[name] == nil {
                    exact[name] = index
                }
            }
        }
    }

    /// The certificate for `serverName`, in any letter case; 0 when no certificate names it.
    func certificateIndex(for serverName: String) -> Int {
        let name = serverName.lowercased()
        if let index = exact[name] { return index }
        // A wildcard stands for exactly one label: `*.example.com` covers `a.example.com` but
        // neither `example.com` nor `a.b.example.com`.
        guard let dot = name.firstIndex(of: "."), dot != name.startIndex else { return 0 }
        return wildcard[String(name[name.index(after: dot)...])] ?? 0
    }
}
