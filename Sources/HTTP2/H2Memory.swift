// A loop's allocator for libnghttp2: blocks of the sizes it asks for per stream are kept and handed out again instead of going back to malloc.
import CNGHTTP2
import Glibc

/// libnghttp2 allocates per stream (the stream's state, header copies, outbound frames: ≈ 4 `malloc`
/// per stream measured under h2load) and frees when the stream closes. Sessions given this
/// allocator (`nghttp2_session_*_new3`) draw those blocks from per-size free lists, so a loop in
/// steady state makes no heap allocation per stream. Not thread-safe: one per loop, used only by the
/// sessions of that loop, each of which keeps it alive (a session frees its memory when deleted).
///
/// Blocks are powers of two from 32 bytes to 16 KiB with a 16-byte header (size class and size);
/// larger requests go to malloc. A free list keeps at most `retainedBytesPerClass` bytes of
/// blocks; beyond that a freed block goes back to the system, so idle memory stays bounded, and
/// the loop's once-a-second `trim()` frees what a period left unused.
public final class H2Memory {
    private static let classCount = 10  // 32 << 0 ... 32 << 9 (16 KiB)
    private static let headerSize = 16  // keeps malloc's 16-byte alignment
    private static let unpooled: UInt32 = .max  // the class of a block larger than 16 KiB

    /// Head of each class's free list; a free block's first word points to the next one.
    private let heads: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let counts: UnsafeMutablePointer<Int>
    private let limits: UnsafeMutablePointer<Int>
    /// The fewest blocks each free list held since the last trim: that many went unused the whole period.
    private let unusedSinceTrim: UnsafeMutablePointer<Int>
    /// Blocks handed out from a free list, and blocks taken from malloc (for tests and reports).
    public private(set) var reused = 0
    public private(set) var allocatedFromSystem = 0

    /// The table nghttp2 copies into each session; `mem_user_data` is this object, unretained.
    var table: nghttp2_mem {
        nghttp2_mem(
            mem_user_data: Unmanaged.passUnretained(self).toOpaque(),
            malloc: { size, user in H2Memory.with(user) { $0.allocate(size) } },
            free: { pointer, user in H2Memory.with(user) { $0.release(pointer) } },
            calloc: { count, size, user in H2Memory.with(user) { $0.allocateZeroed(count, size) } },
            realloc: { pointer, size, user in H2Memory.with(user) { $0.reallocate(pointer, size) } })
    }

    public init(retainedBytesPerClass: Int = 1 << 20) {
        heads = .allocate(capacity: Self.classCount)
        heads.initialize(repeating: nil, count: Self.classCount)
        counts = .allocate(capacity: Self.classCount)
        counts.initialize(repeating: 0, count: Self.classCount)
        limits = .allocate(capacity: Self.classCount)
        for c in 0..<Self.classCount { (limits + c).initialize(to: max(16, retainedBytesPerClass / (32 << c))) }
        unusedSinceTrim = .allocate(capacity: Self.classCount)
        unusedSinceTrim.initialize(repeating: 0, count: Self.classCount)
    }

    deinit {
        for c in 0..<Self.classCount {
            while let block = heads[c] {
                heads[c] = block.load(as: UnsafeMutableRawPointer?.self)
                Glibc.free(block - Self.headerSize)
            }
        }
        heads.deallocate()
        counts.deallocate()
        limits.deallocate()
        unusedSinceTrim.deallocate()
    }

    /// Free blocks held now, in all lists.
    public var freeBlocks: Int { (0..<Self.classCount).reduce(0) { $0 + counts[$1] } }

    /// Frees, in each list, as many blocks as stayed in it since the previous trim (none of the
    /// period's allocations reached them), as the loop's buffer pool does, and starts the next
    /// period; returns how many were freed. A burst of streams no longer keeps its blocks for good.
    @discardableResult
    public func trim() -> Int {
        var freed = 0
        for c in 0..<Self.classCount {
            for _ in 0..<unusedSinceTrim[c] {
                guard let block = heads[c] else { break }
                heads[c] = block.load(as: UnsafeMutableRawPointer?.self)
                Glibc.free(block - Self.headerSize)
                counts[c] -= 1
                freed += 1
            }
            unusedSinceTrim[c] = counts[c]
        }
        return freed
    }

    /// Calls `body` on the allocator without retaining it (a retain and release per nghttp2 allocation
    /// otherwise): every session holding this table holds the allocator too.
    @inline(__always)
    private static func with<R>(_ user: UnsafeMutableRawPointer?, _ body: (H2Memory) -> R) -> R {
        Unmanaged<H2Memory>.fromOpaque(user!)._withUnsafeGuaranteedRef(body)
    }

    /// The smallest class holding `size` bytes, or nil when it is larger than 16 KiB.
    @inline(__always)
    private static func sizeClass(_ size: Int) -> Int? {
        if size <= 32 { return 0 }
        let c = (Int.bitWidth - (size - 1).leadingZeroBitCount) - 5
        return c < classCount ? c : nil
    }

    public func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard size >= 0 else { return nil }  // a size_t above Int.max
        guard let c = Self.sizeClass(size) else { return systemBlock(size: size, sizeClass: Self.unpooled) }
        if let block = heads[c] {
            heads[c] = block.load(as: UnsafeMutableRawPointer?.self)
            counts[c] -= 1
            if counts[c] < unusedSinceTrim[c] { unusedSinceTrim[c] = counts[c] }
            reused &+= 1
            return block
        }
        return systemBlock(size: 32 << c, sizeClass: UInt32(c))
    }

    public func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        let raw = pointer - Self.headerSize
        let c = raw.load(as: UInt32.self)
        guard c != Self.unpooled, counts[Int(c)] < limits[Int(c)] else {
            Glibc.free(raw)
            return
        }
        pointer.storeBytes(of: heads[Int(c)], as: UnsafeMutableRawPointer?.self)
        heads[Int(c)] = pointer
        counts[Int(c)] += 1
    }

    public func allocateZeroed(_ count: Int, _ size: Int) -> UnsafeMutableRawPointer? {
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, let block = allocate(total) else { return nil }
        block.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        return block
    }

    public func reallocate(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let pointer else { return allocate(size) }
        guard size >= 0 else { return nil }
        let capacity = (pointer - Self.headerSize + 8).load(as: Int.self)
        if size <= capacity { return pointer }
        guard let grown = allocate(size) else { return nil }  // the old block stays valid, as realloc's contract says
        grown.copyMemory(from: pointer, byteCount: capacity)
        release(pointer)
        return grown
    }

    /// A new block from malloc: the header holds the class (at 0) and the usable size (at 8).
    private func systemBlock(size: Int, sizeClass: UInt32) -> UnsafeMutableRawPointer? {
        guard let raw = malloc(size + Self.headerSize) else { return nil }
        allocatedFromSystem &+= 1
        raw.storeBytes(of: sizeClass, as: UInt32.self)
        (raw + 8).storeBytes(of: size, as: Int.self)
        return raw + Self.headerSize
    }
}
