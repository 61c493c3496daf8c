// Small blocking-socket helpers of the control plane: the CLI's admin client, the demo's backends and clients.
import CLinuxShims
import EventLoop
import Glibc

/// Accepts connections on `listener` until `isStopping()`, waking every `pollMilliseconds` to check.
/// `handle` owns the connection. Out of descriptors, a spare one is given up to take it and taken back
/// once `handle` returns and a descriptor is free; with no spare left, it waits a poll period instead of
/// spinning on a listener that stays readable.
func acceptEach(_ listener: SocketDescriptor, pollMilliseconds: Int32, isStopping: () -> Bool, _ handle: (SocketDescriptor) -> Void) {
    let spare = SpareDescriptor()
    while !isStopping() {
        var pfd = pollfd(fd: listener.raw, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, pollMilliseconds) > 0 else { continue }
        var peer: SocketAddress?
        let accepted: IOResult<SocketDescriptor>
        do { accepted = try spare.accept(on: listener, peer: &peer) } catch {
            if error.isDescriptorShortage { _ = poll(nil, 0, pollMilliseconds) }
            continue
        }
        guard case .value(let client) = accepted else { continue }
        handle(client)
        spare.restore()
    }
}

/// Accepted sockets are non-blocking (accept4 flags); these helpers read with a receive timeout instead,
/// and `sendTimeoutSeconds` bounds each send, so a peer that stops reading cannot hold the thread.
func makeBlocking(_ fd: SocketDescriptor, receiveTimeoutSeconds: Int, sendTimeoutSeconds: Int? = nil) {
    let flags = fcntl(fd.raw, F_GETFL)
    _ = fcntl(fd.raw, F_SETFL, flags & ~O_NONBLOCK)
    var tv = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
    setsockopt(fd.raw, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    if let sendTimeoutSeconds {
        var send = timeval(tv_sec: sendTimeoutSeconds, tv_usec: 0)
        setsockopt(fd.raw, SOL_SOCKET, SO_SNDTIMEO, &send, socklen_t(MemoryLayout<timeval>.size))
    }
}

/// Offset just past the first CRLFCRLF, if any.
func headEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
        return i + 4
    }
    return nil
}

func writeAll(_ fd: SocketDescriptor, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd.raw, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { return false }
        offset += n
    }
    return true
}
