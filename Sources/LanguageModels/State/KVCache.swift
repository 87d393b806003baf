import Kernels
import TensorCore

/// Keys (after k_norm and RoPE) and values of one full-attention layer, for positions `0..<count`, in pages of
/// the layer's `KVPagePool`. A value: a copy shares the pages, and whichever copy writes first gets its own page
/// table (and its own copy of a partly filled last page), so a snapshot is O(pages) and never copies KV rows.
/// Trimming back to a shorter prefix is legal (unlike recurrent state).
public struct KVCache: Sendable, Equatable {
    public var kvHeads: Int { table.pool.kvHeads }
    public var headDim: Int { table.pool.headDim }
    public var pool: KVPagePool { table.pool }
    public var type: KVType { table.pool.type }
    private var table: PageTable
    public private(set) var count = 0

    public init(pool: KVPagePool) { table = PageTable(pool: pool) }

    /// Bytes of the pages this cache holds (shared pages counted in full).
    public var byteCount: Int { table.pages.count * pool.pageBytes }
    public var pageCount: Int { table.pages.count }

    /// Appends `tokens` rows of keys and values (`[tokens, Hkv, D]` each, f32), stored in the pool's type.
    public mutating func append(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, tokens: Int) {
        if !isKnownUniquelyReferenced(&table) { table = table.clone() }
        let pt = pool.pageTokens, row = kvHeads * headDim, rowBytes = pool.rowBytes, type = pool.type
        var done = 0
        while done < tokens {
            let slot = count % pt, page = writablePage(slot: slot)
            let take = min(pt - slot, tokens - done)
            type.encode(keys + done * row, into: pool.keys(page) + slot * rowBytes, count: take * row)
            type.encode(values + done * row, into: pool.values(page) + slot * rowBytes, count: take * row)
            count += take
            done += take
        }
    }

    /// Appends `tokens` rows already in the pool's stored type (`rowBytes` each, keys then values): restoring a
    /// state written by `storedRuns`, byte for byte (re-encoding q8_0 rows could round differently).
    public mutating func appendStored(keys: UnsafeRawPointer, values: UnsafeRawPointer, tokens: Int) {
        if !isKnownUniquelyReferenced(&table) { table = table.clone() }
        let pt = pool.pageTokens, rowBytes = pool.rowBytes
        var done = 0
        while done < tokens {
            let slot = count % pt, page = writablePage(slot: slot)
            let take = min(pt - slot, tokens - done)
            (pool.keys(page) + slot * rowBytes).copyMemory(from: keys + done * rowBytes, byteCount: take * rowBytes)
            (pool.values(page) + slot * rowBytes).copyMemory(from: values + done * rowBytes, byteCount: take * rowBytes)
            count += take
            done += take
        }
    }

    /// The page the row at `slot` of the last page goes to: a new page at a page boundary; the last page, or a
    /// private copy of its filled rows if a snapshot shares it.
    private mutating func writablePage(slot: Int) -> Int {
        if slot == 0 {
            table.pages.append(pool.allocate())
        } else if pool.isShared(table.pages[table.pages.count - 1]) {
            let old = table.pages[table.pages.count - 1], fresh = pool.allocate()
            pool.keys(fresh).copyMemory(from: pool.keys(old), byteCount: slot * pool.rowBytes)
            pool.values(fresh).copyMemory(from: pool.values(old), byteCount: slot * pool.rowBytes)
            pool.release(old)
            table.pages[table.pages.count - 1] = fresh
        }
        return table.pages[table.pages.count - 1]
    }

    /// The stored rows page by page, in order: (keys, values, rows), each `rows × rowBytes` bytes.
    public func storedRuns(_ body: (UnsafeRawPointer, UnsafeRawPointer, Int) throws -> Void) rethrows {
        let pt = pool.pageTokens
        for (i, p) in table.pages.enumerated() {
            try body(UnsafeRawPointer(pool.keys(p)), UnsafeRawPointer(pool.values(p)), min(pt, count - i * pt))
        }
    }

    /// The pages for the attention kernel.
    public var pages: KVPages { pool.pages(table.pages) }

    /// Positions `range` (whole pages), sharing their pages: a prefix-cache block.
    public func slice(_ range: Range<Int>) -> KVCache {
        let pt = pool.pageTokens
        precondition(range.upperBound <= count && range.lowerBound % pt == 0 && range.upperBound % pt == 0,
                     "KV slice \(range) of \(count): whole pages of \(pt)")
        let pages = Array(table.pages[(range.lowerBound / pt)..<(range.upperBound / pt)])
        for p in pages { pool.retain(p) }
        var c = KVCache(pool: pool)
        c.table = PageTable(pool: pool, pages: pages)
        c.count = range.count
        return c
    }

    /// This cache followed by `next`'s pages (this one must end on a page boundary): restoring a cached prefix.
    public func joined(_ next: KVCache) -> KVCache {
        precondition(count % pool.pageTokens == 0 && next.pool === pool, "KV join needs whole pages of one pool")
        var c = KVCache(pool: pool)
        let pages = table.pages + next.table.pages
        for p in pages { pool.retain(p) }
        c.table = PageTable(pool: pool, pages: pages)
        c.count = count + next.count
        return c
    }

    /// Contiguous `[count, Hkv, D]` f32 copies, widened from the stored type (tests, inspection).
    public var keys: [Float] { gather(pool.keys) }
    public var values: [Float] { gather(pool.values) }

    private func gather(_ page: (Int) -> UnsafeMutableRawPointer) -> [Float] {
        let row = kvHeads * headDim, pt = pool.pageTokens
        var out = [Float](repeating: 0, count: count * row)
        for (i, p) in table.pages.enumerated() {
            let n = min(pt, count - i * pt)
            out.withUnsafeMutableBufferPointer { pool.type.decode(page(p), into: $0.baseAddress! + i * pt * row, count: n * row) }
        }
        return out
    }

    public static func == (a: KVCache, b: KVCache) -> Bool {
        a.count == b.count && a.type == b.type && a.kvHeads == b.kvHeads && a.headDim == b.headDim && a.keys == b.keys && a.values == b.values
    }
}
