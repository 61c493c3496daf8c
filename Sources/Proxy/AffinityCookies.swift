// Session affinity's Set-Cookie in a response head, for both client protocols: bytes written into a pooled buffer.
import EventLoop
import HTTP2

extension ProxyLoop {
    /// The cookies `due` owes, written into a buffer from the pool, which the caller gives back once the
    /// head is written or submitted; nil when they do not fit a buffer (names and attributes of a
    /// config never come near). `line`: HTTP/1.1 field lines, else HTTP/2 values one after the other.
    func affinityCookies(_ due: CookieDue, line: Bool) -> (buffer: ByteBuffer, assignment: Int, removal: Int)? {
        let buffer = loop.buffers.take()
        guard let (assignment, removal) = due.write(line: line, into: buffer.writable) else {
            loop.buffers.give(buffer)
            return nil
        }
        buffer.commit(assignment + removal)
        return (buffer, assignment, removal)
    }
}

extension H2Stream {
    private static let setCookie: StaticString = "set-cookie"

    /// Adds the Set-Cookie fields the request owes (`cookie`) to the head about to be submitted; the
    /// returned buffer holds their bytes and goes back to the pool after the submit, which copies them.
    func addAffinityCookies(_ session: H2Session) -> ByteBuffer? {
        guard let due = cookie, let cookies = proxy.affinityCookies(due, line: false) else { return nil }
        let name = UnsafeRawBufferPointer(start: Self.setCookie.utf8Start, count: Self.setCookie.utf8CodeUnitCount)
        let bytes = cookies.buffer.readable
        session.addField(name: name, value: UnsafeRawBufferPointer(rebasing: bytes[..<cookies.assignment]))
        if cookies.removal > 0 { session.addField(name: name, value: UnsafeRawBufferPointer(rebasing: bytes[cookies.assignment...])) }
        return cookies.buffer
    }
}
