// Connections with frames to send because of another connection's events, each listed once and flushed after the loop's batch of events.
import EventLoop

/// An object that can be listed for a deferred flush; `isDirty` is its "already listed" mark.
protocol DeferredFlush: AnyObject {
    var isDirty: Bool { get set }
    func flush()
}

extension H2Connection: DeferredFlush {}
extension H2UpstreamConnection: DeferredFlush {}

/// HTTP/2 sessions queue frames when another connection's events call for them (a WINDOW_UPDATE, DATA
/// or a reset relayed across the proxy); writing them at once would mean one write per event, so they
/// are listed here and flushed once the loop has handled its events.
final class DirtyList<Connection: DeferredFlush> {
    private var marked: [Connection] = []
    /// Swapped with `marked` while it is flushed: copying a list and emptying it would make the copy
    /// share its storage and the emptying allocate (a malloc per batch, measured).
    private var flushing: [Connection] = []

    var isEmpty: Bool { marked.isEmpty }

    /// Lists `connection` unless it is listed already: a connection flushes once per round however often it was marked.
    @inline(__always)
    func mark(_ connection: Connection) {
        guard !connection.isDirty else { return }
        connection.isDirty = true
        marked.append(connection)
    }

    /// Flushes what is listed now; a connection marked during its own or another's flush waits for the next round.
    func flushMarked() {
        swap(&marked, &flushing)
        for c in flushing {
            c.isDirty = false
            c.flush()
        }
        flushing.removeAll(keepingCapacity: true)
    }

    /// Forgets every listed connection without flushing (the loop stops; no flush would empty the lists).
    func removeAll() {
        marked.removeAll()
        flushing.removeAll()
    }

    /// Flushes both lists in turn until neither has anything listed: a flush on one side may queue frames
    /// on the other. At most `maxRounds`, so connections that keep marking each other cannot hold the loop;
    /// what is left flushes after the next batch of events.
    static func flushUntilQuiet<Other>(_ first: DirtyList<Connection>, _ second: DirtyList<Other>, maxRounds: Int = 16) {
        var rounds = 0
        while (!first.isEmpty || !second.isEmpty) && rounds < maxRounds {
            rounds += 1
            first.flushMarked()
            second.flushMarked()
        }
    }
}
