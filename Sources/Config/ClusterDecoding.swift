// Decodes the `cluster` section: fleet and replica names, etcd endpoints, lease and publish timing, TLS files.

extension ClusterConfig {
    /// etcd's registered client port, which etcd and etcdctl themselves default to.
    static let defaultEtcdPort: UInt16 = 2379
    /// Below 2s a keep-alive delayed by one slow etcd round trip would end the lease of a healthy replica;
    /// above 60s a dead leader would hold the fleet's rollouts for over a minute.
    static let leaseTTLRange = Duration.seconds(2)...Duration.seconds(60)
    /// A replica publishes at most this often: 50 replicas at 100ms already make 500 etcd writes a second.
    static let minimumPublishInterval = Duration.milliseconds(100)
    /// The longest a fleet or replica name may be; both end up in etcd keys and in `/status`.
    static let maximumNameLength = 64

    /// `name` and `etcd` are required. Endpoints all use one scheme (a fleet whose etcd is reached
    /// partly in clear and partly over TLS is a mistake), and `tls` is refused where no endpoint uses it.
    static func decode(_ node: ConfigNode) -> ClusterConfig? {
        node.mapping { m in
            let defaults = ClusterConfig(name: "", etcd: [])
            let name = m.required("name") { $0.clusterName() }
            let replica = m.optional("replica") { $0.clusterName() }
            let etcd = m.required("etcd", decodeEndpoints)
            let leaseTTL = m.optional("leaseTTL", default: defaults.leaseTTL) {
                $0.duration(in: leaseTTLRange, written: "2s...60s")
            }
            let publishInterval = m.optional("publishInterval", default: defaults.publishInterval) {
                $0.duration(atLeast: minimumPublishInterval, written: "100ms")
            }
            let tls = m.optional("tls", ClusterTLSConfig.decode)
            guard let name, let etcd, let leaseTTL, let publishInterval else { return nil }
            // Evidence published less often than twice per lease would let a live replica look gone
            // to the leader between two of its records.
            if publishInterval > leaseTTL / 2 {
                m.report(
                    "publishInterval",
                    "\(describe(publishInterval)) is longer than half the leaseTTL (\(describe(leaseTTL / 2)))")
            }
            if tls != nil && !etcd.contains(where: \.secure) {
                m.report("tls", "no https:// endpoint uses it")
            }
            var cluster = ClusterConfig(name: name, replica: replica, etcd: etcd)
            cluster.leaseTTL = leaseTTL
            cluster.publishInterval = publishInterval
            cluster.tls = tls
            return cluster
        }
    }

    /// One or more endpoints, each once, all `http://` or all `https://`.
    private static func decodeEndpoints(_ node: ConfigNode) -> [EtcdEndpoint]? {
        let problemsBefore = node.log.count
        var seen = DuplicateCheck<String>()
        let endpoints = node.list(atLeastOne: true) { item in
            item.scalar(expected: "a URL like \"http://127.0.0.1:2379\"", EtcdEndpoint.parse).flatMap { endpoint in
                seen.claim(endpoint.description, shown: endpoint.description.debugDescription, at: item).map { _ in endpoint }
            }
        }
        guard let endpoints, node.log.count == problemsBefore else { return nil }
        if endpoints.contains(where: \.secure) && endpoints.contains(where: { !$0.secure }) {
            node.report("mixes http:// and https:// endpoints; reach etcd one way (https:// with tls, or http://)")
            return nil
        }
        return endpoints
    }

    /// `3s`, `1500ms`: as a person would write it in the file.
    private static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}

extension EtcdEndpoint {
    /// `http://host[:port][/]`: etcd's JSON gateway lives at the root, so any other path, a query or a
    /// fragment is a mistake, refused rather than dropped. The port defaults to etcd's 2379. The host
    /// is lowercased (names compare case-insensitively), so `ETCD-1` and `etcd-1` are one endpoint.
    static func parse(_ text: String) throws(InvalidValue) -> EtcdEndpoint {
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw InvalidValue("may contain only visible ASCII characters, no spaces")
        }
        let secure: Bool
        let rest: Substring
        if text.lowercased().hasPrefix("https://") {
            (secure, rest) = (true, text.dropFirst("https://".count))
        } else if text.lowercased().hasPrefix("http://") {
            (secure, rest) = (false, text.dropFirst("http://".count))
        } else {
            throw InvalidValue("\(text.debugDescription) must start with \"http://\" or \"https://\"")
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let suffix = rest[authorityEnd...]
        // Not repeated in the message: the URL holds a password.
        if authority.contains("@") {
            throw InvalidValue("must not carry credentials (user:password@); use tls certFile and keyFile to authenticate")
        }
        if suffix.contains("?") || suffix.contains("#") {
            throw InvalidValue("\(text.debugDescription) must not have a query or fragment; write scheme://host:port")
        }
        guard suffix.isEmpty || suffix == "/" else {
            throw InvalidValue("\(text.debugDescription) has a path; etcd is reached at its root: write scheme://host:port")
        }
        guard !authority.isEmpty else { throw InvalidValue("\(text.debugDescription) has no host") }
        let hasPort: Bool
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw InvalidValue("\(text.debugDescription) has no \"]\" after an IPv6 address")
            }
            hasPort = authority.index(after: close) != authority.endIndex
        } else {
            hasPort = authority.contains(":")
        }
        let address = try AddressSyntax.parseHostPort(hasPort ? String(authority) : "\(authority):\(ClusterConfig.defaultEtcdPort)")
        return EtcdEndpoint(secure: secure, host: address.host.lowercased(), port: address.port)
    }
}

extension ClusterTLSConfig {
    /// A CA bundle is a few hundred KiB at most; a certificate chain or a key far less.
    static let pemFileLimit = 4 * 1024 * 1024

    /// Each file is read now, so a missing or unreadable one refuses the config (and a reload) with its
    /// field and line instead of failing every connection to etcd later.
    static func decode(_ node: ConfigNode) -> ClusterTLSConfig? {
        node.mapping { m in
            let caFile = m.optional("caFile") { $0.pemFile(holding: "CERTIFICATE") }
            let certFile = m.optional("certFile") { $0.pemFile(holding: "CERTIFICATE") }
            let keyFile = m.optional("keyFile") { $0.pemFile(holding: "PRIVATE KEY") }
            // etcd's --client-cert-auth needs both; either alone would fail every handshake.
            if m.isWritten("certFile") != m.isWritten("keyFile") {
                let (missing, present) = m.isWritten("certFile") ? ("keyFile", "certFile") : ("certFile", "keyFile")
                m.report(missing, "required with \(present): a client certificate needs its key")
            }
            if !["caFile", "certFile", "keyFile"].contains(where: { m.isWritten($0) }) {
                m.mapping.report("names no file; write caFile, or certFile and keyFile (leave tls out to trust the system's CAs)")
            }
            return ClusterTLSConfig(caFile: caFile, certFile: certFile, keyFile: keyFile)
        }
    }
}

extension ConfigNode {
    /// A fleet or replica name: `[A-Za-z0-9._-]{1,64}`, safe in an etcd key and in `/status`.
    func clusterName() -> String? {
        scalar(expected: "a name") { text throws(InvalidValue) in
            guard !text.isEmpty else { throw InvalidValue("must not be empty") }
            guard text.utf8.count <= ClusterConfig.maximumNameLength else {
                throw InvalidValue("\(text.debugDescription) is longer than \(ClusterConfig.maximumNameLength) characters")
            }
            guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isWholeNumber || "._-".contains($0)) }) else {
                throw InvalidValue("\(text.debugDescription) may contain only letters, digits, \".\", \"_\" and \"-\"")
            }
            return text
        }
    }

    /// A duration within `range`, which is shown as `written` (`"2s...60s"`).
    func duration(in range: ClosedRange<Duration>, written: String) -> Duration? {
        scalar(expected: "a duration like \"2s\" or \"500ms\"") { text throws(InvalidValue) in
            let value = try DurationSyntax.parse(text)
            guard range.contains(value) else { throw InvalidValue("\(text.debugDescription) is not in \(written)") }
            return value
        }
    }

    /// The path of a readable PEM file with a `-----BEGIN … <label>-----` block; messages never show its contents.
    func pemFile(holding label: String) -> String? {
        nonEmptyString().flatMap { path in
            switch ReferencedFile.contents(of: path, limit: ClusterTLSConfig.pemFileLimit) {
            case .failure(let unreadable):
                report("\(path): \(unreadable.reason)")
                return nil
            case .success(let bytes):
                let text = String(decoding: bytes, as: UTF8.self)
                guard text.contains("-----BEGIN "), text.contains("\(label)-----") else {
                    report("\(path): holds no PEM \(label.lowercased()) (-----BEGIN \(label)-----)")
                    return nil
                }
                return path
            }
        }
    }
}
