// H2Memory: per-size free lists reused, contents kept across realloc, zeroed calloc, large blocks, the retention cap and the trim; a session using it allocates nothing per stream once warm.
import HTTP2
import Testing

@Suite struct H2MemoryTests {
    @Test func freedBlocksAreHandedOutAgain() {
        let memory = H2Memory()
        let first = (0..<100).map { _ in memory.allocate(200)! }
        for block in first { memory.release(block) }
        let second = (0..<100).map { _ in memory.allocate(180)! }  // same 256-byte class
        #expect(Set(second) == Set(first))
        #expect(memory.allocatedFromSystem == 100 && memory.reused == 100)
        for block in second { memory.release(block) }
    }

    @Test(arguments: [0, 1, 31, 32, 33, 255, 256, 257, 4_000, 16_383, 16_384])
    func aBlockHoldsWhatWasAskedFor(size: Int) {
        let memory = H2Memory()
        let block = memory.allocate(size)!
        let bytes = block.bindMemory(to: UInt8.self, capacity: max(size, 1))
        for i in 0..<size { bytes[i] = UInt8(truncatingIfNeeded: i) }
        #expect((0..<size).allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0) })
        memory.release(block)
    }

    @Test func reallocKeepsTheContentsAndGrowsOnlyWhenNeeded() {
        let memory = H2Memory()
        let block = memory.allocate(40)!  // a 64-byte block
        block.withMemoryRebound(to: UInt8.self, capacity: 40) { for i in 0..<40 { $0[i] = UInt8(i) } }
        #expect(memory.reallocate(block, 64) == block)
        let grown = memory.reallocate(block, 5_000)!
        #expect(grown != block)
        grown.withMemoryRebound(to: UInt8.self, capacity: 40) { p in #expect((0..<40).allSatisfy { p[$0] == UInt8($0) }) }
        // The old block went back to its list.
        #expect(memory.allocate(64) == block)
        let fresh = memory.reallocate(nil, 100)
        #expect(fresh != nil)
        memory.release(fresh)
        memory.release(grown)
    }

    @Test func callocZeroesAReusedBlock() {
        let memory = H2Memory()
        let dirty = memory.allocate(100)!
        dirty.initializeMemory(as: UInt8.self, repeating: 0xFF, count: 100)
        memory.release(dirty)
        let zeroed = memory.allocateZeroed(10, 10)!
        #expect(zeroed == dirty)
        zeroed.withMemoryRebound(to: UInt8.self, capacity: 100) { p in #expect((0..<100).allSatisfy { p[$0] == 0 }) }
        #expect(memory.allocateZeroed(Int.max, 2) == nil)
        memory.release(zeroed)
    }

    @Test func blocksOverSixteenKiBAreNotKept() {
        let memory = H2Memory()
        for _ in 0..<3 { memory.release(memory.allocate(20_000)) }
        #expect(memory.allocatedFromSystem == 3 && memory.reused == 0)
        let big = memory.allocate(20_000)!
        // realloc of an unpooled block knows its size.
        big.initializeMemory(as: UInt8.self, repeating: 7, count: 20_000)
        let bigger = memory.reallocate(big, 40_000)!
        bigger.withMemoryRebound(to: UInt8.self, capacity: 20_000) { p in #expect(p[0] == 7 && p[19_999] == 7) }
        memory.release(bigger)
    }

    @Test func eachListKeepsAtMostItsShare() {
        // 0 bytes retained per class still keeps 16 blocks of each.
        let memory = H2Memory(retainedBytesPerClass: 0)
        let blocks = (0..<20).map { _ in memory.allocate(32)! }
        for block in blocks { memory.release(block) }
        for _ in 0..<20 { _ = memory.allocate(32) }
        #expect(memory.reused == 16)
        #expect(memory.allocatedFromSystem == 24)
    }

    @Test func aTrimFreesTheBlocksAPeriodLeftUnused() {
        let memory = H2Memory()
        let small = (0..<10).map { _ in memory.allocate(32)! }
        let large = (0..<4).map { _ in memory.allocate(4_000)! }
        for block in small + large { memory.release(block) }
        #expect(memory.freeBlocks == 14)
        #expect(memory.trim() == 0, "the first trim only starts a period")
        // Three small blocks taken and one given back during the period: the list's low was 7.
        let taken = (0..<3).map { _ in memory.allocate(32)! }
        memory.release(taken[0])
        #expect(memory.trim() == 7 + 4)
        #expect(memory.freeBlocks == 1)
        #expect(memory.trim() == 1, "unused for a whole period")
        #expect(memory.freeBlocks == 0)
        for block in taken.dropFirst() { memory.release(block) }
        #expect(memory.allocatedFromSystem == 14 && memory.reused == 3)
    }

    /// A server session on one long connection: once the first streams warmed the lists, a thousand
    /// more streams take nothing from malloc (nghttp2 no longer keeps closed streams, which grew a
    /// connection by ~300 bytes per stream while it lived).
    @Test func aSessionAllocatesNothingPerStreamOnceWarm() throws {
        let memory = H2Memory()
        let pair = try H2Pair(memory: memory)
        func serve(_ count: Int) throws {
            for _ in 0..<count {
                let id = pair.client.submitRequest(get("/x") + [Field("user-agent", "test/1")])
                try pair.pump()
                try pair.respond(id, fields: [Field("content-type", "text/plain")], body: BodySource(Array("ok".utf8)))
                try pair.pump()
                #expect(pair.client.stream(id).ended)
            }
        }
        try serve(50)
        let warm = memory.allocatedFromSystem
        try serve(1_000)
        #expect(memory.allocatedFromSystem == warm, "\(memory.allocatedFromSystem - warm) blocks from malloc for 1,000 streams")
        #expect(memory.reused >= 4_000)
    }
}
