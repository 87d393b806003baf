import Foundation
import Kernels
import TensorCore

/// Attention KV in fixed-size pages from one pool per attention layer, shared by every sequence of the model
/// (vLLM's paged attention, llama.cpp's unified KV cells): sequences of different lengths take whole pages as
/// they grow, and a cached prefix is shared by reference counting instead of copied. A page holds
/// `pageTokens` rows of keys then as many of values, each row `[Hkv, D]` stored as `type`.
public final class KVPagePool: @unchecked Sendable {
    public let pageTokens: Int
    public let kvHeads: Int
    public let headDim: Int
    public let type: KVType
    /// Bytes of one token's keys (as many again for its values).
    public let rowBytes: Int
    private let lock = NSLock()
    private var storage: [UnsafeMutableRawPointer] = []
    private var refs: [Int] = []
    private var free: [Int] = []

    /// 64 tokens: the prefill chunk, so cached prefixes (whole chunks) are whole pages.
    public static let defaultPageTokens = 64

    /// `headDim` must be whole blocks of `type` (`KVType.check(headDim:)` says why not).
    public init(pageTokens: Int, kvHeads: Int, headDim: Int, type: KVType = .f32) {
        precondition(pageTokens > 0 && kvHeads > 0 && headDim > 0 && headDim % type.blockElements == 0,
                     "KVPagePool: bad geometry for \(type)")
        self.pageTokens = pageTokens
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.type = type
        rowBytes = kvHeads * type.bytes(elements: headDim)
    }

    deinit { for p in storage { p.deallocate() } }

    var rowFloats: Int { kvHeads * headDim }
    /// Bytes of one page (keys and values).
    public var pageBytes: Int { 2 * pageTokens * rowBytes }
    /// Bytes of KV one token of context takes in this pool.
    public var bytesPerToken: Int { 2 * rowBytes }
    /// Pages held by some sequence or cache entry.
    public var pagesInUse: Int { lock.withLock { storage.count - free.count } }

    /// A page with one reference (its contents are undefined until written).
    func allocate() -> Int {
        lock.withLock {
            if let p = free.popLast() { refs[p] = 1; return p }
            storage.append(.allocate(byteCount: pageBytes, alignment: 64))
            refs.append(1)
            return storage.count - 1
        }
    }

    func retain(_ p: Int) { lock.withLock { refs[p] += 1 } }

    func release(_ p: Int) {
        lock.withLock {
            refs[p] -= 1
            if refs[p] == 0 { free.append(p) }
        }
    }

    func isShared(_ p: Int) -> Bool { lock.withLock { refs[p] > 1 } }

    func keys(_ p: Int) -> UnsafeMutableRawPointer { lock.withLock { storage[p] } }

    /// Key and value pointers of `ids` for the attention kernel, under one lock.
    func pages(_ ids: [Int]) -> KVPages {
        lock.withLock {
            let off = pageTokens * rowBytes
            return KVPages(keys: ids.map { UnsafeRawPointer(storage[$0]) }, values: ids.map { UnsafeRawPointer(storage[$0] + off) },
                           pageTokens: pageTokens, type: type)
        }
    }
    func values(_ p: Int) -> UnsafeMutableRawPointer { lock.withLock { storage[p] + pageTokens * rowBytes } }
}

/// One sequence's pages of one layer; releases them when the last holder goes.
final class PageTable: @unchecked Sendable {
    let pool: KVPagePool
    var pages: [Int]
    init(pool: KVPagePool, pages: [Int] = []) {
        self.pool = pool
        self.pages = pages
    }
    deinit { for p in pages { pool.release(p) } }

    /// A second table over the same pages (each retained once more).
    func clone() -> PageTable {
        for p in pages { pool.retain(p) }
        return PageTable(pool: pool, pages: pages)
    }
}
