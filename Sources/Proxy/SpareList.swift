// Objects of ended work kept for reuse, warmest first and up to a bound, so steady traffic reuses capacity instead of allocating.
struct SpareList<Element> {
    private var spares: [Element] = []
    /// Beyond it an object is let go: a burst's leftovers are not held for ever.
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var count: Int { spares.count }

    /// The most recently kept object (its memory the likeliest still cached), or nil.
    @inline(__always)
    mutating func take() -> Element? { spares.popLast() }

    /// Keeps `element` for reuse unless `limit` are kept already; false: the caller lets it go. Consuming, so
    /// a caller that gives up its own reference (`keep(consume array)`) moves it in without a retain and release.
    @inline(__always) @discardableResult
    mutating func keep(_ element: consuming Element) -> Bool {
        guard spares.count < limit else { return false }
        spares.append(element)
        return true
    }

    /// Lets every kept object go (the loop stops).
    mutating func removeAll() { spares.removeAll() }
}
