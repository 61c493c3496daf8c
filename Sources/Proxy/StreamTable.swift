// The open streams of one HTTP/2 connection by stream id: open addressing on the id's own bits instead of Dictionary's seeded hash.

/// Stream ids on one connection are distinct positive integers that mostly arrive in order (a
/// client's are odd and increasing), so `id >> 1` masked to the capacity is already a good slot:
/// consecutive streams take consecutive slots and rarely collide. Linear probing, at most half
/// full, removal by backward shift (no tombstones, so lookups never slow down with churn).
/// `Dictionary<Int32, H2Stream>` hashed every id with SipHash on insert, removal and each lookup
/// that missed the connection's `recent` stream: ≈ 550 instructions per proxied h2c stream
/// (callgrind, 20,000 streams).
///
/// The table owns its values (as the dictionary did); they are class references, or class-bound
/// existentials (an HTTP/2 upstream connection's streams of either client protocol). Not thread-safe: one connection, one loop.
final class StreamTable<Value> {
    /// 0 marks an empty slot: stream 0 is the connection itself and never a key.
    private var keys: UnsafeMutablePointer<Int32>
    private var values: UnsafeMutablePointer<Value?>
    private var mask: Int
    private(set) var count = 0

    /// Eight slots to start (a connection's usual handful of streams); the table doubles as needed.
    init() {
        let size = 8
        mask = size - 1
        keys = .allocate(capacity: size)
        keys.initialize(repeating: 0, count: size)
        values = .allocate(capacity: size)
        values.initialize(repeating: nil, count: size)
    }

    deinit {
        values.deinitialize(count: mask + 1)
        values.deallocate()
        keys.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// Slots the table has (for tests: growth, and collisions built on purpose).
    var capacity: Int { mask + 1 }

    @inline(__always)
    private func home(_ id: Int32) -> Int { Int(UInt32(bitPattern: id) >> 1) & mask }

    /// The slot holding `id`, or nil.
    @inline(__always)
    private func slot(of id: Int32) -> Int? {
        guard id > 0 else { return nil }
        var i = home(id)
        while true {
            let key = keys[i]
            if key == id { return i }
            if key == 0 { return nil }
            i = (i + 1) & mask
        }
    }

    subscript(id: Int32) -> Value? {
        guard let i = slot(of: id) else { return nil }
        return values[i]
    }

    /// Adds `value` as stream `id` (> 0), or replaces the stream already there.
    func insert(_ value: Value, for id: Int32) {
        precondition(id > 0, "stream ids are positive")
        if let i = slot(of: id) {
            values[i] = value
            return
        }
        if (count + 1) * 2 > capacity { grow() }
        var i = home(id)
        while keys[i] != 0 { i = (i + 1) & mask }
        keys[i] = id
        values[i] = value
        count += 1
    }

    /// Removes stream `id` and returns it, or nil if it is not here.
    @discardableResult
    func removeValue(for id: Int32) -> Value? {
        guard var hole = slot(of: id) else { return nil }
        let removed = values[hole].take()
        keys[hole] = 0
        count -= 1
        // Backward shift: each later entry of the probe run moves into the hole unless its home
        // lies cyclically after the hole (then it is already as close to home as it can be).
        var j = (hole + 1) & mask
        while keys[j] != 0 {
            let h = home(keys[j])
            if (j &- h) & mask >= (j &- hole) & mask {
                keys[hole] = keys[j]
                values[hole] = values[j].take()
                keys[j] = 0
                hole = j
            }
            j = (j + 1) & mask
        }
        return removed
    }

    /// Calls `body` with every stream held (in no particular order); `body` must not change the table.
    func forEach(_ body: (Value) -> Void) {
        for i in 0...mask where keys[i] != 0 { body(values[i]!) }
    }

    /// Empties the table and returns what it held (in no particular order), for a connection that
    /// ends: the caller tells each stream after the table no longer holds it.
    func removeAll() -> [Value] {
        var all: [Value] = []
        all.reserveCapacity(count)
        for i in 0...mask where keys[i] != 0 {
            all.append(values[i].take()!)
            keys[i] = 0
        }
        count = 0
        return all
    }

    private func grow() {
        let oldKeys = keys, oldValues = values, oldSize = mask + 1
        let size = oldSize * 2
        mask = size - 1
        keys = .allocate(capacity: size)
        keys.initialize(repeating: 0, count: size)
        values = .allocate(capacity: size)
        values.initialize(repeating: nil, count: size)
        for k in 0..<oldSize where oldKeys[k] != 0 {
            var i = home(oldKeys[k])
            while keys[i] != 0 { i = (i + 1) & mask }
            keys[i] = oldKeys[k]
            values[i] = oldValues[k].take()
        }
        oldValues.deinitialize(count: oldSize)
        oldValues.deallocate()
        oldKeys.deallocate()
    }
}
