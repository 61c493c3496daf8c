// A loop's deadline lists: one per configured timeout, replaced on reload, and the fixed ones of its listeners, lingering closes and sweep.
import Config
import EventLoop

/// Lists of one duration are one list (`EventLoop.deadlineList(for:)`), so two timeouts configured
/// alike share theirs; a reload's new timeouts get new lists, and those no timeout uses any more are
/// retired (dropped by the loop once their last deadline is gone).
struct LoopDeadlines {
    private(set) var header, handshake, idle, requestBody, connect, response, upstreamIdle, tunnel: DeadlineList
    /// A listener paused by a descriptor shortage or a connection limit looks again after 100 ms.
    let listenerBackoff: DeadlineList
    /// How long a connection closed after an error response of ours keeps draining the client's bytes.
    let linger: DeadlineList
    /// The in-flight sweep's period (shared with `listenerBackoff`: lists of one duration are one list).
    let sweep: DeadlineList
    /// The memory trim's period (see `MemoryTrim`).
    let memoryTrim: DeadlineList

    init(_ timeouts: TimeoutsConfig, on loop: EventLoop) {
        header = loop.deadlineList(for: timeouts.requestHeader)
        handshake = loop.deadlineList(for: timeouts.tlsHandshake)
        idle = loop.deadlineList(for: timeouts.idle)
        requestBody = loop.deadlineList(for: timeouts.requestBody)
        connect = loop.deadlineList(for: timeouts.upstreamConnect)
        response = loop.deadlineList(for: timeouts.upstreamResponse)
        upstreamIdle = loop.deadlineList(for: timeouts.upstreamIdle)
        tunnel = loop.deadlineList(for: timeouts.tunnel)
        listenerBackoff = loop.deadlineList(for: .milliseconds(100))
        linger = loop.deadlineList(for: .seconds(2))
        sweep = loop.deadlineList(for: .milliseconds(100))
        memoryTrim = loop.deadlineList(for: .seconds(1))
    }

    /// Switches to a reload's timeouts and retires every other list of the loop. Deadlines already
    /// armed keep running on their old list. Other owners of lists (health probes) take theirs again
    /// after this, which un-retires them.
    mutating func install(_ timeouts: TimeoutsConfig, on loop: EventLoop) {
        self = LoopDeadlines(timeouts, on: loop)
        loop.retireDeadlineLists(except: [
            header, handshake, idle, requestBody, connect, response, upstreamIdle, tunnel,
            listenerBackoff, linger, sweep, memoryTrim,
        ])
    }
}
