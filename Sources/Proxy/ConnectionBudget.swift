// How many client connections the proxy keeps open: `limits.maxConnections`, or what the descriptor limit allows less a reserve.
import Config
import EventLoop

/// Clients must not take every descriptor: timeouts must still close connections, the admin API
/// answer, upstream connects and the state file open, and a reload read its config and certificates.
/// Past the budget the listeners stop accepting (new connections wait in the kernel's backlog, as
/// with HAProxy's maxconn) instead of failing accepts with EMFILE.
public enum ConnectionBudget {
    /// Descriptors kept from clients: 64 for the process (stdio, admin connections, the state file,
    /// a reload's files, hook processes' pipes, libraries) plus each loop's epoll, wake eventfd and
    /// listening sockets.
    public static func reserve(loops: Int, listeners: Int) -> Int { 64 + loops * (2 + listeners) }

    /// Half of what the reserve leaves: a client connection in an exchange holds an upstream
    /// connection too (HTTP/1.1 arms), and the idle pools keep connections clients released. HAProxy
    /// derives its default maxconn from the descriptor limit by the same rule. At least 1.
    public static func derived(descriptorLimit: Int, loops: Int, listeners: Int) -> Int {
        max(1, (descriptorLimit - reserve(loops: loops, listeners: listeners)) / 2)
    }

    /// The proxy-wide limit in force for `config`: its `limits.maxConnections`, else derived from
    /// the process's descriptor limit now.
    public static func maxConnections(_ config: CanarygateConfig, loops: Int) -> Int {
        config.limits.maxConnections
            ?? derived(descriptorLimit: DescriptorLimit.current, loops: loops, listeners: config.listeners.count)
    }
}
