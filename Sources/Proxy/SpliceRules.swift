// When an HTTP/1.1 body moves through a kernel pipe with splice(2) instead of user-space buffers, and how much each splice may move.
import EventLoop

/// Splicing moves a body's bytes socket → pipe → socket without copying them into the proxy: fewer
/// syscalls per MB (a pipe takes more per call than a buffer) and no copies. It applies only where the
/// proxy does not need to see the bytes: both sides plain TCP (TLS encrypts in user space), a body
/// framed by its length or by the close (a chunked one is re-framed), and no mirror (it compares the
/// bodies). Like HAProxy's `splice-auto`, it starts only when enough of the body remains for it to pay:
/// taking a pipe, and the empty read that ends each burst, cost about what the copy path spends on a
/// short rest.
enum SpliceRules {
    /// Body bytes still to come below which the rest is copied. Measured: 40 KiB downloads (about
    /// 24 KiB left after the read with the head) took a quarter less CPU per request spliced than copied.
    static let minimumRemaining: UInt64 = 16 * 1024
    /// The size of the loops' pipes: the most one splice from a socket moves. The kernel's default:
    /// 256 KiB pipes took less CPU per MB on uploads but more on downloads (same run), and count four
    /// times as much against the user's pipe pages (fs.pipe-user-pages-soft; past it new pipes get two pages).
    static let pipeCapacity = SplicePipe.defaultCapacity

    /// What both directions ask of an exchange.
    struct Path: Equatable {
        /// `limits.splice`, and no pipe2 failure yet in this exchange.
        var enabled: Bool
        var clientTLS: Bool
        var upstreamTLS: Bool
        var mirrored: Bool

        var allowsSplice: Bool { enabled && !clientTLS && !upstreamTLS && !mirrored }
    }

    /// Whether the rest of a response body is spliced upstream → client. `heldForClient`: response
    /// bytes the proxy holds in user space (a head not yet written, body bytes read ahead): those go
    /// first by the copy path, so splicing starts only once they are all written.
    static func splicesResponse(_ path: Path, progress: BodyProgress, heldForClient: Int) -> Bool {
        guard path.allowsSplice, heldForClient == 0 else { return false }
        switch progress {
        case .length(let remaining): return remaining >= minimumRemaining
        case .untilClose: return true
        case .none, .chunked: return false
        }
    }

    /// Whether the rest of a request body is spliced client → upstream. `heldForUpstream`: request
    /// bytes still in user space (the head, body bytes that came with it); `upgrade`: a 101 may turn
    /// the exchange into a tunnel, which reads the client from user space.
    static func splicesRequest(_ path: Path, upgrade: Bool, progress: BodyProgress, heldForUpstream: Int) -> Bool {
        guard path.allowsSplice, !upgrade, heldForUpstream == 0 else { return false }
        if case .length(let remaining) = progress { return remaining >= minimumRemaining }
        return false
    }

    /// Bytes the next splice from the source may move: never past the body's end (the next message
    /// on a keep-alive connection must stay in the socket), at most a pipe's worth. 0: the body ended.
    static func fillCount(_ progress: BodyProgress, pipeCapacity: Int) -> Int {
        switch progress {
        case .length(let remaining): return Int(min(remaining, UInt64(pipeCapacity)))
        case .untilClose: return pipeCapacity
        case .none, .chunked: return 0
        }
    }

    /// The body's progress once `count` more of its bytes went into the pipe.
    static func filled(_ progress: BodyProgress, by count: Int) -> BodyProgress {
        guard case .length(let remaining) = progress else { return progress }
        return .length(remaining: remaining - UInt64(count))
    }
}
