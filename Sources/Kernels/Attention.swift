import Foundation
import TensorCore

/// Keys and values stored in fixed-size pages (token-major `[pageTokens, Hkv, D]` each): key j lives in page
/// j / pageTokens. A contiguous cache is one page as long as the context.
public struct KVPages {
    public let keys: [UnsafePointer<Float>]
    public let values: [UnsafePointer<Float>]
    public let pageTokens: Int
    public init(keys: [UnsafePointer<Float>], values: [UnsafePointer<Float>], pageTokens: Int) {
        precondition(keys.count == values.count && pageTokens > 0, "KVPages: \(keys.count) key and \(values.count) value pages")
        self.keys = keys
        self.values = values
        self.pageTokens = pageTokens
    }
}

/// Causal grouped-query attention over a token-major KV cache (ARCHITECTURE.md §3.3 steps 5–6): query head h
/// reads KV head h / (Hq/Hkv); scores q·k·scale, softmax in f32, o = Σ p·v. The `tokens` new queries sit at
/// cache positions `cached ..< cached + tokens`, and query t sees keys `0 ... cached + t`.
public func causalAttention(
    q: UnsafePointer<Float>,           // [T, Hq, D]
    keys: UnsafePointer<Float>,        // [N, Hkv, D], N = cached + T
    values: UnsafePointer<Float>,      // [N, Hkv, D]
    out: UnsafeMutablePointer<Float>,  // [T, Hq, D]
    tokens: Int, cached: Int, queryHeads: Int, kvHeads: Int, headDim d: Int, scale: Float,
    pool: ThreadPool = .shared
) {
    causalAttention(q: q, pages: KVPages(keys: [keys], values: [values], pageTokens: max(1, cached + tokens)), out: out,
                    tokens: tokens, cached: cached, queryHeads: queryHeads, kvHeads: kvHeads, headDim: d, scale: scale,
                    pool: pool)
}

/// `causalAttention` over a paged cache.
public func causalAttention(
    q: UnsafePointer<Float>,           // [T, Hq, D]
    pages: KVPages,                    // N = cached + T keys and values
    out: UnsafeMutablePointer<Float>,  // [T, Hq, D]
    tokens: Int, cached: Int, queryHeads: Int, kvHeads: Int, headDim d: Int, scale: Float,
    pool: ThreadPool = .shared
) {
    precondition(queryHeads % kvHeads == 0, "query heads \(queryHeads) not a multiple of KV heads \(kvHeads)")
    precondition(pages.keys.count * pages.pageTokens >= cached + tokens, "attention: \(cached + tokens) keys in \(pages.keys.count) pages")
    let group = queryHeads / kvHeads
    if tokens * group >= 64 {
        causalAttentionBlocked(q: q, pages: pages, out: out, tokens: tokens, cached: cached,
                               queryHeads: queryHeads, kvHeads: kvHeads, headDim: d, scale: scale, pool: pool)
        return
    }
    if tokens == 1 {
        causalAttentionDecode(q: q, pages: pages, out: out, cached: cached, queryHeads: queryHeads, kvHeads: kvHeads,
                              headDim: d, scale: scale, pool: pool)
        return
    }
    let kvStride = kvHeads * d, pt = pages.pageTokens
    // One work item per (head, block of queries): enough items to balance, few enough to amortise.
    let block = max(1, min(tokens, 16))
    let blocks = (tokens + block - 1) / block
    pool.parallelFor(queryHeads * blocks) { item in
        let h = item / blocks, b = item % blocks
        let kvh = h / group
        var scores = [Float](repeating: 0, count: cached + tokens)
        scores.withUnsafeMutableBufferPointer { sp in
            let s = sp.baseAddress!
            for t in (b * block)..<min(tokens, (b + 1) * block) {
                let qv = q + (t * queryHeads + h) * d
                let n = cached + t + 1
                var mx = -Float.infinity
                for j in 0..<n {
                    let v = dot(qv, pages.keys[j / pt] + (j % pt) * kvStride + kvh * d, d) * scale
                    s[j] = v
                    mx = max(mx, v)
                }
                var sum: Float = 0
                for j in 0..<n { let e = expf(s[j] - mx); s[j] = e; sum += e }
                let o = out + (t * queryHeads + h) * d
                o.initialize(repeating: 0, count: d)
                let inv = 1 / sum
                for j in 0..<n { axpy(s[j] * inv, pages.values[j / pt] + (j % pt) * kvStride + kvh * d, o, d) }
            }
        }
    }
}

/// Keys per flash-decoding split. A constant (not derived from the thread count), so a sequence's result
/// depends only on its own length.
let decodeSplitKeys = 512

/// Decode form of `causalAttention` (one new query per head): each work item takes one KV head and one split of
/// the keys, and serves all `group` query heads that share that KV head, so every key and value row is read once
/// per token instead of once per query head; long contexts are split across threads (flash-decoding) and the
/// partial softmaxes merged exactly: `o = Σₛ e^{mₛ−M} oₛ / Σₛ e^{mₛ−M} lₛ`.
func causalAttentionDecode(
    q: UnsafePointer<Float>, pages: KVPages, out: UnsafeMutablePointer<Float>,
    cached: Int, queryHeads: Int, kvHeads: Int, headDim d: Int, scale: Float, pool: ThreadPool
) {
    let group = queryHeads / kvHeads, kvStride = kvHeads * d, pt = pages.pageTokens
    let n = cached + 1
    let splits = (n + decodeSplitKeys - 1) / decodeSplitKeys
    // Per (KV head, split, group member): running max, sum of exponentials, unnormalised output [D].
    var partMax = [Float](repeating: 0, count: kvHeads * splits * group)
    var partSum = [Float](repeating: 0, count: kvHeads * splits * group)
    var partOut = [Float](repeating: 0, count: kvHeads * splits * group * d)
    partMax.withUnsafeMutableBufferPointer { mp in partSum.withUnsafeMutableBufferPointer { lp in
        partOut.withUnsafeMutableBufferPointer { op in
            let (mb, lb, ob) = (mp.baseAddress!, lp.baseAddress!, op.baseAddress!)
            pool.parallelFor(kvHeads * splits) { item in
                let kvh = item / splits, sp = item % splits
                let j0 = sp * decodeSplitKeys, j1 = min(n, j0 + decodeSplitKeys)
                var scores = [Float](repeating: 0, count: group * (j1 - j0))   // [group, keys]
                scores.withUnsafeMutableBufferPointer { sb in
                    let s = sb.baseAddress!, len = j1 - j0
                    let qg = q + kvh * group * d                                   // [group, D]
                    // Runs of keys inside one page: rows kvStride apart.
                    var j = j0
                    while j < j1 {
                        let run = min(j1, (j / pt + 1) * pt) - j
                        groupScores(q: qg, group: group, d: d, k: pages.keys[j / pt] + (j % pt) * kvStride + kvh * d,
                                    kStride: kvStride, len: run, scale: scale, s: s + j - j0, ldS: len)
                        j += run
                    }
                    let base = (kvh * splits + sp) * group
                    groupSoftmax(s: s, ldS: len, group: group, len: len, maxes: mb + base, sums: lb + base)
                    let o = ob + base * d
                    o.initialize(repeating: 0, count: group * d)
                    j = j0
                    while j < j1 {
                        let run = min(j1, (j / pt + 1) * pt) - j
                        groupAccumulate(p: s + j - j0, ldP: len, group: group, d: d,
                                        v: pages.values[j / pt] + (j % pt) * kvStride + kvh * d, vStride: kvStride,
                                        len: run, o: o)
                        j += run
                    }
                }
            }
        }
    } }
    for h in 0..<queryHeads {
        let kvh = h / group, g = h % group
        var mx = -Float.infinity
        for sp in 0..<splits { mx = max(mx, partMax[(kvh * splits + sp) * group + g]) }
        var total: Float = 0
        let o = out + h * d
        o.initialize(repeating: 0, count: d)
        partOut.withUnsafeBufferPointer { op in
            for sp in 0..<splits {
                let i = (kvh * splits + sp) * group + g
                let w = expf(partMax[i] - mx)
                total += w * partSum[i]
                axpy(w, op.baseAddress! + i * d, o, d)
            }
        }
        let inv = 1 / total
        for i in 0..<d { o[i] *= inv }
    }
}

/// Prefill form of `causalAttention`: the queries of a block of tokens, for all query heads that share one KV
/// head, go through two matrix products per block (`Sᵀ = K · Qᵀ`, then `O = P · V`) on the register-tiled
/// `gdnMatMulAdd`, so every key and value row is loaded once per 64 query rows instead of once per query. The
/// diagonal block computes the few masked scores too and zeroes them after the softmax. Both products go page
/// by page (scores of a page's keys; P·V accumulated over pages).
func causalAttentionBlocked(
    q: UnsafePointer<Float>, pages: KVPages, out: UnsafeMutablePointer<Float>,
    tokens: Int, cached: Int, queryHeads: Int, kvHeads: Int, headDim d: Int, scale: Float, pool: ThreadPool
) {
    let pt = pages.pageTokens
    let group = queryHeads / kvHeads
    let kvStride = kvHeads * d
    var g = 64, x = group   // tokens per block: the smallest count whose rows (× group) fill 64-column tiles
    while x > 0 { (g, x) = (x, g % x) }
    let block = 64 / g
    let blocks = (tokens + block - 1) / block
    pool.parallelFor(kvHeads * blocks) { item in
        let kvh = item / blocks, t0 = (item % blocks) * block
        let bt = min(block, tokens - t0), m = bt * group   // query rows r = ti·group + gi
        let n = cached + t0 + bt                           // keys the last query of the block sees
        var qt = [Float](repeating: 0, count: d * m)       // [D, m] queries, transposed
        for ti in 0..<bt {
            for gi in 0..<group {
                let qv = q + ((t0 + ti) * queryHeads + kvh * group + gi) * d
                for i in 0..<d { qt[i * m + ti * group + gi] = qv[i] }
            }
        }
        var st = [Float](repeating: 0, count: n * m)       // [n, m] scores, key-major
        var p = [Float](repeating: 0, count: m * n)        // [m, n] probabilities
        var o = [Float](repeating: 0, count: m * d)        // [m, D]
        qt.withUnsafeBufferPointer { qtp in st.withUnsafeMutableBufferPointer { sp in
            var j0 = 0
            while j0 < n {
                let rows = min(pt - j0 % pt, n - j0)
                gdnMatMulAdd(pages.keys[j0 / pt] + (j0 % pt) * kvStride + kvh * d, lda: kvStride, qtp.baseAddress!, ldb: m,
                             sp.baseAddress! + j0 * m, ldc: m, m: rows, k: d, n: m)
                j0 += rows
            }
        } }
        p.withUnsafeMutableBufferPointer { pp in
            for r in 0..<m {
                let row = pp.baseAddress! + r * n
                let visible = cached + t0 + r / group + 1      // keys 0 ..< visible
                var mx = -Float.infinity
                for j in 0..<visible { row[j] = st[j * m + r] * scale; mx = max(mx, row[j]) }
                var sum: Float = 0, j = 0
                while j + 16 <= visible {
                    let e = exp16(load16(row + j) - SIMD16(repeating: mx))
                    store16(e, row + j); sum += e.sum(); j += 16
                }
                while j < visible { row[j] = expf(row[j] - mx); sum += row[j]; j += 1 }
                let inv = 1 / sum
                for j in 0..<visible { row[j] *= inv }
                // Masked keys stay 0 (the array starts zeroed), so they add nothing to P · V.
            }
        }
        p.withUnsafeBufferPointer { pp in o.withUnsafeMutableBufferPointer { op in
            var j0 = 0
            while j0 < n {
                let rows = min(pt - j0 % pt, n - j0)
                gdnMatMulAdd(pp.baseAddress! + j0, lda: n, pages.values[j0 / pt] + (j0 % pt) * kvStride + kvh * d, ldb: kvStride,
                             op.baseAddress!, ldc: d, m: m, k: rows, n: d)
                j0 += rows
            }
        } }
        for ti in 0..<bt {
            for gi in 0..<group {
                let dst = out + ((t0 + ti) * queryHeads + kvh * group + gi) * d
                o.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + (ti * group + gi) * d, count: d) }
            }
        }
    }
}

/// Plain reference twin of `causalAttention` (scalar loops, one thread).
public func causalAttentionReference(
    q: [Float], keys: [Float], values: [Float], tokens: Int, cached: Int,
    queryHeads: Int, kvHeads: Int, headDim d: Int, scale: Float
) -> [Float] {
    let group = queryHeads / kvHeads
    var out = [Float](repeating: 0, count: tokens * queryHeads * d)
    for t in 0..<tokens {
        for h in 0..<queryHeads {
            let kvh = h / group, n = cached + t + 1
            var s = [Float](repeating: 0, count: n)
            for j in 0..<n {
                var acc: Float = 0
                for i in 0..<d { acc += q[(t * queryHeads + h) * d + i] * keys[(j * kvHeads + kvh) * d + i] }
                s[j] = acc * scale
            }
            let mx = s.max()!
            let e = s.map { expf($0 - mx) }
            let sum = e.reduce(0, +)
            for j in 0..<n {
                for i in 0..<d { out[(t * queryHeads + h) * d + i] += e[j] / sum * values[(j * kvHeads + kvh) * d + i] }
            }
        }
    }
    return out
}
