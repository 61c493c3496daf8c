// Canarygate's own etcd v3 client for unary requests (leases, keys, transactions) over the JSON gateway, synchronous with deadlines.
import Config
import Rollout

/// Used from one thread, the cluster agent's, never from an event loop: each call blocks that thread
/// for at most `requestTimeout` (the connect included), every wait being a poll bounded by that
/// deadline (see `DeadlineConnection`). Watches run on threads of their own (`EtcdWatch`).
///
/// Connections: one keep-alive HTTP/1.1 connection, reused request after request. A request that
/// finds it broken before any byte of the answer (etcd closed it while idle, or restarted) is sent
/// once more on a new connection; a timeout or a half-received answer is not retried, since the
/// request may have been executed. Connecting tries the endpoints in order starting from the one
/// that worked last, so a dead first endpoint costs one refused connect per reconnect, not one per request.
public final class EtcdClient {
    /// The most of a response body read: far above any answer of the fleet's keys, and a bound on a
    /// peer that is not etcd.
    public static let maxResponseBytes = 8 * 1024 * 1024

    public let endpoints: [EtcdEndpoint]
    /// The endpoint in use, or the next one to try (shown in /status).
    public private(set) var endpoint: EtcdEndpoint
    /// Shared with the watches started for this client, for /metrics.
    public let traffic: EtcdTraffic
    public let requestTimeout: Duration

    private let gateway: EtcdGateway
    private var endpointIndex = 0
    private var connection: GatewayConnection?

    /// `endpoints` must not be empty. TLS files are loaded here; when they cannot be, every request
    /// fails with the reason (`.unreachable("TLS towards etcd: …")`).
    public init(
        endpoints: [EtcdEndpoint], tls: ClusterTLSConfig?, requestTimeout: Duration = .seconds(1), traffic: EtcdTraffic = EtcdTraffic()
    ) {
        gateway = EtcdGateway(endpoints: endpoints, tls: tls)
        self.endpoints = endpoints
        endpoint = endpoints[0]
        self.traffic = traffic
        self.requestTimeout = requestTimeout
    }

    // MARK: - Leases

    public func grantLease(ttlSeconds: Int) -> Result<EtcdLease, EtcdError> {
        call(.leaseGrant, EtcdRequests.Path.leaseGrant, EtcdRequests.leaseGrant(ttlSeconds: ttlSeconds), EtcdResponses.lease)
    }

    /// Refreshes the lease; its remaining TTL in seconds, 0 when the lease is gone (expired or revoked),
    /// after which its keys are gone too and a new lease must be granted.
    public func keepAlive(lease: Int64) -> Result<Int, EtcdError> {
        // A stream on the gateway: the body holds one `{"result": …}` line per request message sent, here one.
        callRaw(.leaseKeepAlive, EtcdRequests.Path.leaseKeepAlive, EtcdRequests.lease(lease)) { body throws(EtcdError) in
            Int(try EtcdResponses.int64(try EtcdResponses.firstStreamResult(body), "TTL"))
        }
    }

    /// Revokes the lease at once: its keys go now rather than a TTL later (a clean shutdown, a leader stepping down).
    public func revoke(lease: Int64) -> Result<Void, EtcdError> {
        call(.leaseRevoke, EtcdRequests.Path.leaseRevoke, EtcdRequests.lease(lease)) { _ throws(EtcdError) in () }
    }

    // MARK: - Keys

    /// The key, or every key under it with `prefix`; `keysOnly` leaves the values out.
    public func range(_ key: String, prefix: Bool = false, keysOnly: Bool = false) -> Result<EtcdRange, EtcdError> {
        call(.range, EtcdRequests.Path.range, EtcdRequests.range(key, prefix: prefix, keysOnly: keysOnly), EtcdResponses.range)
    }

    /// Puts the value (bound to `lease` when given); the store's new revision.
    public func put(_ key: String, _ value: [UInt8], lease: Int64? = nil) -> Result<Int64, EtcdError> {
        call(.put, EtcdRequests.Path.put, EtcdRequests.put(key, value, lease: lease), EtcdResponses.revision)
    }

    /// Deletes the key, or every key under it with `prefix`; the store's revision after it.
    public func delete(_ key: String, prefix: Bool = false) -> Result<Int64, EtcdError> {
        call(.delete, EtcdRequests.Path.deleteRange, EtcdRequests.delete(key, prefix: prefix), EtcdResponses.revision)
    }

    public func txn(_ txn: EtcdTxn) -> Result<EtcdTxnResult, EtcdError> {
        call(.txn, EtcdRequests.Path.txn, EtcdRequests.txn(txn), EtcdResponses.txn)
    }

    // MARK: - Watches

    /// Starts a watch (see `EtcdWatch.start`) through this client's endpoints and TLS context, the
    /// endpoint in use first, counted in its `traffic`. Safe to call only from the client's thread, like
    /// every method here; the watch itself runs on its own.
    public func watch(
        _ key: String, prefix: Bool = false, startRevision: Int64,
        onEvents: @escaping @Sendable (_ events: [EtcdEvent], _ revision: Int64) -> Void,
        onEnd: @escaping @Sendable (EtcdError) -> Void
    ) -> EtcdWatch {
        EtcdWatch.start(
            gateway, from: endpointIndex, key: key, prefix: prefix, startRevision: startRevision, traffic: traffic,
            connectTimeout: requestTimeout, onEvents: onEvents, onEnd: onEnd)
    }

    /// Closes the connection; a later request opens a new one.
    public func close() {
        connection = nil
    }

    // MARK: - Exchange

    /// One request: counted, sent, its answer decoded as a JSON object by `decode`.
    private func call<T>(
        _ operation: EtcdTraffic.Operation, _ path: String, _ request: [String: Any],
        _ decode: ([String: Any]) throws(EtcdError) -> T
    ) -> Result<T, EtcdError> {
        callRaw(operation, path, request) { body throws(EtcdError) in try decode(try EtcdResponses.object(body)) }
    }

    /// One request whose 2xx body `decode` reads as it is.
    private func callRaw<T>(
        _ operation: EtcdTraffic.Operation, _ path: String, _ request: [String: Any],
        _ decode: ([UInt8]) throws(EtcdError) -> T
    ) -> Result<T, EtcdError> {
        traffic.count(operation)
        let result: Result<T, EtcdError>
        switch perform(path, EtcdRequests.encode(request)) {
        case .success(let response) where (200...299).contains(response.status):
            do throws(EtcdError) { result = .success(try decode(response.body)) } catch { result = .failure(error) }
        case .success(let response): result = .failure(EtcdResponses.serverError(status: response.status, body: response.body))
        case .failure(let error): result = .failure(error)
        }
        if case .failure = result { traffic.countError() }
        return result
    }

    private func perform(_ path: String, _ body: [UInt8]) -> Result<GatewayConnection.Response, EtcdError> {
        let deadline = HookClock.now() + HookClock.nanoseconds(requestTimeout)
        while true {
            let current: GatewayConnection
            if let connection {
                current = connection
            } else {
                switch gateway.connect(from: endpointIndex, deadline: deadline) {
                case .success(let (opened, index)):
                    current = opened
                    connection = opened
                    endpointIndex = index
                    endpoint = endpoints[index]
                case .failure(let error): return .failure(error)
                }
            }
            let result = current.exchange(path: path, body: body, traffic: traffic, maxBodyBytes: Self.maxResponseBytes, deadline: deadline)
            switch result {
            case .success(let response):
                if !response.keepAlive { connection = nil }
                return .success(response)
            case .failure(let failure):
                connection = nil
                // Retryable only on a connection that had served before, so this loop runs at most twice.
                if failure.retryable { continue }
                return .failure(failure.error)
            }
        }
    }
}
