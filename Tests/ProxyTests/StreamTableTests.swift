// The stream table of an HTTP/2 connection: agrees with Dictionary under churn, keeps colliding and wrapped-around ids findable after removals, grows, and owns its streams.
import Simulation
import Testing
@testable import Proxy

private final class Entry {
    let id: Int32
    init(_ id: Int32) { self.id = id }
}

@Suite struct StreamTableTests {
    /// Streams opened in order and closed out of order (as a connection sees them), plus ids far
    /// apart, checked against a Dictionary after every operation.
    @Test func agreesWithADictionaryUnderChurn() {
        var random = Xoshiro256(seed: 42)  // a fixed sequence, so a failure replays
        let table = StreamTable<Entry>()
        var model: [Int32: Entry] = [:]
        var nextID: Int32 = 1
        for step in 0..<20_000 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                // Mostly the next client stream id; sometimes one far off, to collide and wrap.
                let id = Bool.random(using: &random) || model.isEmpty ? nextID : Int32.random(in: 1...1_000_000, using: &random)
                if id == nextID { nextID += 2 }
                let entry = Entry(id)
                table.insert(entry, for: id)
                model[id] = entry
            case 4..<8:
                guard let id = model.keys.randomElement(using: &random) else { continue }
                #expect(table.removeValue(for: id) === model.removeValue(forKey: id))
            case 8:
                // An id that is not there.
                let id = Int32.random(in: 1...2_000_000, using: &random)
                #expect(table.removeValue(for: id) === model.removeValue(forKey: id))
            default:
                let id = Int32.random(in: 1...max(nextID, 2), using: &random)
                #expect(table[id] === model[id])
            }
            #expect(table.count == model.count, "after step \(step)")
            if step % 1000 == 0 {
                for (id, entry) in model { #expect(table[id] === entry, "stream \(id) after step \(step)") }
            }
        }
        for (id, entry) in model { #expect(table[id] === entry) }
        let all = table.removeAll()
        #expect(Set(all.map(\.id)) == Set(model.keys))
        #expect(all.count == model.count)
        #expect(table.isEmpty)
        for id in model.keys { #expect(table[id] == nil) }
    }

    /// Ids with the same home slot form one probe run; removing any of them, in any order, leaves
    /// the rest findable, including a run that wraps from the last slot to the first and an id whose
    /// own home slot the wrapped run took.
    @Test func removalKeepsCollidingAndWrappedIdsFindable() {
        // In a table of 8 the home slot is (id >> 1) & 7: 15, 31 and 47 all start at slot 7 and wrap
        // to 0 and 1; 1 starts at slot 0. Four entries keep the table at 8 (at most half full).
        let ids: [Int32] = [15, 31, 47, 1]
        for insertOrder in permutations(ids) {
            for removeOrder in permutations(ids) {
                let table = StreamTable<Entry>()
                var entries: [Int32: Entry] = [:]
                for id in insertOrder {
                    let entry = Entry(id)
                    entries[id] = entry
                    table.insert(entry, for: id)
                }
                #expect(table.capacity == 8)
                for id in removeOrder {
                    #expect(table.removeValue(for: id) === entries.removeValue(forKey: id))
                    for (other, entry) in entries {
                        #expect(table[other] === entry, "\(other) after removing \(id); inserted \(insertOrder), removing \(removeOrder)")
                    }
                    #expect(table[id] == nil)
                }
                #expect(table.isEmpty)
            }
        }
    }

    private func permutations(_ items: [Int32]) -> [[Int32]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i -> [[Int32]] in
            var rest = items
            let first = rest.remove(at: i)
            return permutations(rest).map { [first] + $0 }
        }
    }

    @Test func collisionsWithoutGrowth() {
        // Four ids with home slot 0 in a table of 8: a run of four, then removals from its front and middle.
        let table = StreamTable<Entry>()
        let ids: [Int32] = [1, 17, 33, 49]
        let entries = ids.map(Entry.init)
        for e in entries { table.insert(e, for: e.id) }
        #expect(table.capacity == 8)
        #expect(table.removeValue(for: 1) === entries[0])
        #expect(table[17] === entries[1] && table[33] === entries[2] && table[49] === entries[3])
        #expect(table.removeValue(for: 33) === entries[2])
        #expect(table[17] === entries[1] && table[49] === entries[3])
        #expect(table[1] == nil && table[33] == nil)
        #expect(table.count == 2)
    }

    @Test func growsAndKeepsEveryStream() {
        let table = StreamTable<Entry>()
        var entries: [Entry] = []
        for k in 0..<300 {
            let e = Entry(Int32(2 * k + 1))
            entries.append(e)
            table.insert(e, for: e.id)
        }
        #expect(table.count == 300)
        #expect(table.capacity >= 600)
        for e in entries { #expect(table[e.id] === e) }
    }

    @Test func insertingAnIdAgainReplacesItsStream() {
        let table = StreamTable<Entry>()
        weak var first: Entry?
        do {
            let a = Entry(5)
            first = a
            table.insert(a, for: 5)
        }
        let b = Entry(5)
        table.insert(b, for: 5)
        #expect(table[5] === b)
        #expect(table.count == 1)
        #expect(first == nil)  // the replaced stream was released
    }

    @Test func ownsItsStreamsUntilRemoved() {
        weak var removed: Entry?
        weak var cleared: Entry?
        weak var heldToTheEnd: Entry?
        var table: StreamTable<Entry>? = StreamTable()
        do {
            let a = Entry(1), b = Entry(3), c = Entry(5)
            removed = a; cleared = b; heldToTheEnd = c
            table!.insert(a, for: 1)
            table!.insert(b, for: 3)
        }
        #expect(removed != nil && cleared != nil)  // held by the table alone
        _ = table!.removeValue(for: 1)
        #expect(removed == nil)
        _ = table!.removeAll()
        #expect(cleared == nil)
        #expect(heldToTheEnd == nil)  // c went out of scope unheld: never inserted
        do {
            let d = Entry(7)
            heldToTheEnd = d
            table!.insert(d, for: 7)
        }
        #expect(heldToTheEnd != nil)
        table = nil
        #expect(heldToTheEnd == nil)  // released with the table
    }

    @Test func idsThatAreNeverKeys() {
        let table = StreamTable<Entry>()
        table.insert(Entry(1), for: 1)
        #expect(table[0] == nil)
        #expect(table[-1] == nil)
        #expect(table.removeValue(for: 0) == nil)
        #expect(table.count == 1)
    }
}
