import CKernels
import Foundation
import TensorCore

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
    // One work item per (head, block of queries): enough items to balance, few enough to amortise.
    let block = max(1, min(tokens, 16))
    let blocks = (tokens + block - 1) / block
    let scratchFloats = KVRowReader.scratchFloats(pages.type, rows: min(pages.pageTokens, cached + tokens), headDim: d)
    pool.parallelFor(queryHeads * blocks) { item in
        let h = item / blocks, b = item % blocks
        var scores = [Float](repeating: 0, count: cached + tokens)   // [keys]
        var scratch = [Float](repeating: 0, count: scratchFloats)     // [pageTokens, D] widened rows
        scores.withUnsafeMutableBufferPointer { sp in scratch.withUnsafeMutableBufferPointer { xp in
            let s = sp.baseAddress!
            let kv = KVRowReader(pages, kvHead: h / group, kvHeads: kvHeads, headDim: d, scratch: xp.baseAddress)
            for t in (b * block)..<min(tokens, (b + 1) * block) {
                let qv = q + (t * queryHeads + h) * d
                let n = cached + t + 1
                var mx = -Float.infinity
                var j = 0
                while j < n {
                    let len = kv.run(j, end: n), (k, ks) = kv.rows(j, len, values: false)
                    for i in 0..<len {
                        let v = dot(qv, k + i * ks, d) * scale
                        s[j + i] = v
                        mx = max(mx, v)
                    }
                    j += len
                }
                var sum: Float = 0
                for j in 0..<n { let e = expf(s[j] - mx); s[j] = e; sum += e }
                let o = out + (t * queryHeads + h) * d
                o.initialize(repeating: 0, count: d)
                let inv = 1 / sum
                j = 0
                while j < n {
                    let len = kv.run(j, end: n), (v, vs) = kv.rows(j, len, values: true)
                    for i in 0..<len { axpy(s[j + i] * inv, v + i * vs, o, d) }
                    j += len
                }
            }
        } }
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
    let group = queryHeads / kvHeads
    let n = cached + 1
    let splits = (n + decodeSplitKeys - 1) / decodeSplitKeys
    // Per (KV head, split, group member): running max, sum of exponentials, unnormalised output [D].
    var partMax = [Float](repeating: 0, count: kvHeads * splits * group)
    var partSum = [Float](repeating: 0, count: kvHeads * splits * group)
    var partOut = [Float](repeating: 0, count: kvHeads * splits * group * d)
    // f32 / bf16 / f16 rows are read in place (16-bit ones widened in registers: half the bytes of f32, nothing
    // widened into a scratch) when the C kernels run for this shape: the same values as widening first, so the
    // same result. These kernels also prefetch across a page boundary (each run is told where the next starts).
    let typed = KVRowReader.typedKernelCode(pages.type).flatMap { code in
        group % 4 == 0 && qk_attn_typed_supported(code, d) != 0 ? code : nil
    }
    let scratchFloats = typed != nil ? 0 : KVRowReader.scratchFloats(pages.type, rows: min(pages.pageTokens, decodeSplitKeys), headDim: d)
    partMax.withUnsafeMutableBufferPointer { mp in partSum.withUnsafeMutableBufferPointer { lp in
        partOut.withUnsafeMutableBufferPointer { op in
            let (mb, lb, ob) = (mp.baseAddress!, lp.baseAddress!, op.baseAddress!)
            // With enough splits, one work item takes one split of every KV head: a thread then streams whole
            // token rows (all heads) from its own stretch of the cache instead of every other head row.
            let bySplit = splits >= 2 * pool.threadCount
            pool.parallelFor(bySplit ? splits : kvHeads * splits) { w in
              var scores = [Float](repeating: 0, count: group * decodeSplitKeys)   // [group, keys of a split]
              var scratch = [Float](repeating: 0, count: scratchFloats)            // [pageTokens, D] widened rows
              for kvh in bySplit ? 0..<kvHeads : (w / splits)..<(w / splits + 1) {
                let sp = bySplit ? w : w % splits
                let j0 = sp * decodeSplitKeys, j1 = min(n, j0 + decodeSplitKeys)
                scores.withUnsafeMutableBufferPointer { sb in scratch.withUnsafeMutableBufferPointer { xp in
                    let s = sb.baseAddress!, len = j1 - j0
                    let qg = q + kvh * group * d                                   // [group, D]
                    let kv = KVRowReader(pages, kvHead: kvh, kvHeads: kvHeads, headDim: d, scratch: xp.baseAddress)
                    var j = j0
                    while j < j1 {
                        let run = kv.run(j, end: j1)
                        if let code = typed {
                            let (k, ks) = kv.storedRows(j, values: false)
                            let next = j + run < j1 ? kv.storedRows(j + run, values: false).0 : nil
                            for g in stride(from: 0, to: group, by: 4) {
                                _ = qk_attn_scores4_typed(code, qg + g * d, d, k, ks, run, scale, s + g * len + j - j0, len, next)
                            }
                        } else {
                            let (k, ks) = kv.rows(j, run, values: false)
                            groupScores(q: qg, group: group, d: d, k: k, kStride: ks, len: run, scale: scale, s: s + j - j0, ldS: len)
                        }
                        j += run
                    }
                    let base = (kvh * splits + sp) * group
                    groupSoftmax(s: s, ldS: len, group: group, len: len, maxes: mb + base, sums: lb + base)
                    let o = ob + base * d
                    o.initialize(repeating: 0, count: group * d)
                    j = j0
                    while j < j1 {
                        let run = kv.run(j, end: j1)
                        if let code = typed {
                            let (v, vs) = kv.storedRows(j, values: true)
                            let next = j + run < j1 ? kv.storedRows(j + run, values: true).0 : nil
                            for g in stride(from: 0, to: group, by: 4) {
                                _ = qk_attn_accumulate4_typed(code, s + g * len + j - j0, len, d, v, vs, run, o + g * d, next)
                            }
                        } else {
                            let (v, vs) = kv.rows(j, run, values: true)
                            groupAccumulate(p: s + j - j0, ldP: len, group: group, d: d, v: v, vStride: vs, len: run, o: o)
                        }
                        j += run
                    }
                } }
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
