// An arm's TLS to its endpoints, compiled with the route table: the shared client context and each endpoint's server name.
import Config
import EventLoop
import TLS

/// What a connection to one endpoint needs for TLS: the context (trusted CAs) and the name sent as
/// SNI and required in the certificate. Equal when they share the context object and the name.
public struct UpstreamTLS: Sendable, Equatable {
    public let context: TLSClientContext
    public let serverName: String

    public static func == (a: UpstreamTLS, b: UpstreamTLS) -> Bool { a.context === b.context && a.serverName == b.serverName }
}

/// The client contexts of one route table, one per CA file: loading a trust store (the system's holds
/// ~150 certificates) costs milliseconds, so arms that trust the same CAs share it.
struct UpstreamTLSContexts {
    private var byCAFile: [String?: TLSClientContext] = [:]

    mutating func context(caFile: String?) throws(TLSError) -> TLSClientContext {
        if let loaded = byCAFile[caFile] { return loaded }
        let context = try TLSClientContext(caFile: caFile)
        byCAFile[caFile] = context
        return context
    }
}

extension CompiledArm {
    /// Resolves the arm's endpoints (blocking DNS) and loads its TLS context. A CA file that cannot be
    /// loaded is an error naming the route and arm, so the start or reload is refused.
    init(_ arm: ArmConfig, route: String, role: String, contexts: inout UpstreamTLSContexts) throws {
        var context: TLSClientContext?
        if let tls = arm.tls {
            do { context = try contexts.context(caFile: tls.caFile) } catch {
                throw TLSError("route \(route), \(role) arm, tls: \(error.message)")
            }
        }
        var endpoints: [ResolvedEndpoint] = []
        for hp in arm.endpoints {
            let address = try SocketAddress.resolve(host: hp.host, port: hp.port)
            // Without a configured serverName, each endpoint is checked against the host it is written with.
            let tls = context.map { UpstreamTLS(context: $0, serverName: arm.tls?.serverName ?? hp.host) }
            endpoints.append(ResolvedEndpoint(configured: hp, address: address, tls: tls))
        }
        self.init(revision: arm.revision, endpoints: endpoints, protocol: arm.protocol)
    }
}

extension ResolvedEndpoint {
    /// Which upstream pool of a loop serves this endpoint for an arm speaking `upstreamProtocol`: arms
    /// that differ in protocol, TLS trust or server name on one address get separate connections.
    func poolKey(_ upstreamProtocol: UpstreamProtocol) -> String {
        let security = tls.map { "tls \($0.context.caFile ?? "system") \($0.serverName)" } ?? "plain"
        return "\(address) \(upstreamProtocol.rawValue) \(security)"
    }
}
