// A parsed head whose header array is reused from one message to the next, so steady-state parsing does not allocate.

protocol ReusableHead {
    init()
    /// In received order; its capacity survives `clearKeepingHeaderCapacity()`.
    var headers: [HeaderField] { get set }
    /// Bytes of the head, up to and including the final CRLF CRLF.
    var headLength: Int { get set }
}

extension ReusableHead {
    /// Back to `init()`'s state, keeping the header array's storage.
    @inline(__always)
    mutating func clearKeepingHeaderCapacity() {
        var kept = headers
        headers = []  // so `kept` is uniquely referenced and removeAll does not copy
        kept.removeAll(keepingCapacity: true)
        self = Self()
        headers = kept
    }
}
