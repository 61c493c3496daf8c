// Objects of ended work kept for reuse, warmest first and up to a bound, so steady traffic reuses capacity instead of allocating.
struct SpareList<Element> {
    private var spares: [Element] = []
    /// Beyond it an object is let go: a burst's leftovers are not held for ever.
    let limit: Int
    /// The fewest objects the list held since the last trim: that many went untaken the whole period.
    private var unusedSinceTrim = 0

    init(limit: Int) { self.limit = limit }

    var count: Int { spares.count }

    /// The most recently kept object (its memory the likeliest still cached), or nil.
    @inline(__always)
    mutating func take() -> Element? {
        let element = spares.popLast()
        if spares.count < unusedSinceTrim { unusedSinceTrim = spares.count }
        return element
    }

    /// Keeps `element` for reuse unless `limit` are kept already; false: the caller lets it go. Consuming, so
    /// a caller that gives up its own reference (`keep(consume array)`) moves it in without a retain and release.
    @inline(__always) @discardableResult
    mutating func keep(_ element: consuming Element) -> Bool {
        guard spares.count < limit else { return false }
        spares.append(element)
        return true
    }

    /// Lets go of the objects that stayed in the list since the previous trim (the coldest: the list is
    /// taken from its end), as `BufferPool.trim` does with buffers, and starts the next period; returns
    /// how many were let go. Called from the loop's memory trim, where no spare is borrowed.
    @discardableResult
    mutating func trim() -> Int {
        let unused = unusedSinceTrim
        if unused > 0 { spares.removeFirst(unused) }
        unusedSinceTrim = spares.count
        return unused
    }

    /// Lets every kept object go (the loop stops).
    mutating func removeAll() {
        spares.removeAll()
        unusedSinceTrim = 0
    }
}
