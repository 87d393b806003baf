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

/// Decode form of `causalAttention` (one new query per head): the keys are cut into splits of 512, merged
/// exactly at the end (flash-decoding: `o = Σₛ e^{mₛ−M} oₛ / Σₛ e^{mₛ−M} lₛ`). A work item takes one split of one KV
/// head, or, with ≥ 2 splits per thread, one split of every KV head; it serves all `group` query heads of each,
/// so every key and value row is read once per token instead of once per query head. Per query head the
/// arithmetic is the same whichever items exist: the result does not depend on the thread count.
func causalAttentionDecode(
    q: UnsafePointer<Float>, pages: KVPages, out: UnsafeMutablePointer<Float>,
    cached: Int, queryHeads: Int, kvHeads: Int, headDim d: Int, scale: Float, pool: ThreadPool
) {
    let group = queryHeads / kvHeads
    let n = cached + 1
    let splits = (n + decodeSplitKeys - 1) / decodeSplitKeys
    // Per (split, KV head, group member): running max, sum of exponentials, unnormalised output [D].
    var partMax = [Float](repeating: 0, count: splits * queryHeads)
    var partSum = [Float](repeating: 0, count: splits * queryHeads)
    var partOut = [Float](repeating: 0, count: splits * queryHeads * d)
    // f32 / bf16 / f16 rows are read in place (16-bit ones widened in registers: half the bytes of f32, nothing
    // widened into a scratch) when the C kernels run for this shape: the same values as widening first, so the
    // same result. These kernels also prefetch across a page boundary (each run is told where the next starts).
    let typed = KVRowReader.typedKernelCode(pages.type).flatMap { code in
        group % 4 == 0 && qk_attn_typed_supported(code, d) != 0 ? code : nil
    }
    let scratchFloats = typed != nil ? 0 : KVRowReader.scratchFloats(pages.type, rows: min(pages.pageTokens, decodeSplitKeys), headDim: d)
    // With enough splits, one work item takes one split of every KV head: the typed kernels then stream whole
    // token rows (all heads) from the thread's own stretch of the cache instead of every other head row.
    let bySplit = splits >= 2 * pool.threadCount
    partMax.withUnsafeMutableBufferPointer { mp in partSum.withUnsafeMutableBufferPointer { lp in
        partOut.withUnsafeMutableBufferPointer { op in
            let (mb, lb, ob) = (mp.baseAddress!, lp.baseAddress!, op.baseAddress!)
            pool.parallelFor(bySplit ? splits : kvHeads * splits) { w in
                let heads = bySplit ? 0..<kvHeads : (w / splits)..<(w / splits + 1)
                let sp = bySplit ? w : w % splits
                let j0 = sp * decodeSplitKeys, j1 = min(n, j0 + decodeSplitKeys), len = j1 - j0
                let rows = heads.count * group                                        // query heads served
                let first = (sp * kvHeads + heads.lowerBound) * group                 // their first partial
                var scores = [Float](repeating: 0, count: rows * len)                 // [heads, group, keys of the split]
                var scratch = [Float](repeating: 0, count: scratchFloats)             // [min(pageTokens, 512), D] widened rows
                scores.withUnsafeMutableBufferPointer { sb in scratch.withUnsafeMutableBufferPointer { xp in
                    let s = sb.baseAddress!, o = ob + first * d                       // [heads · group, D]
                    let qh = q + heads.lowerBound * group * d                         // [heads · group, D]
                    o.initialize(repeating: 0, count: rows * d)
                    if let code = typed {
                        // All the item's heads in one pass over each run of token rows.
                        let kv = KVRowReader(pages, kvHead: heads.lowerBound, kvHeads: kvHeads, headDim: d, scratch: nil)
                        for values in [false, true] {
                            var j = j0
                            while j < j1 {
                                let run = kv.run(j, end: j1), (r, stride) = kv.storedRows(j, values: values)
                                let next = j + run < j1 ? kv.storedRows(j + run, values: values).0 : nil
                                // `typed` checked the type, d and group; the stride is the token row (Hkv · D).
                                let done = values
                                    ? qk_attn_accumulate_typed(code, s + j - j0, len, d, heads.count, group, r, stride, run, o, next)
                                    : qk_attn_scores_typed(code, qh, d, heads.count, group, r, stride, run, scale, s + j - j0, len, next)
                                precondition(done != 0, "decode attention: the typed kernel refused its rows")
                                j += run
                            }
                            if !values {
                                groupSoftmax(s: s, ldS: len, group: rows, len: len, maxes: mb + first, sums: lb + first)
                            }
                        }
                        return
                    }
                    for (i, kvh) in heads.enumerated() {
                        let kv = KVRowReader(pages, kvHead: kvh, kvHeads: kvHeads, headDim: d, scratch: xp.baseAddress)
                        let sh = s + i * group * len, qg = qh + i * group * d, og = o + i * group * d
                        var j = j0
                        while j < j1 {
                            let run = kv.run(j, end: j1), (k, ks) = kv.rows(j, run, values: false)
                            groupScores(q: qg, group: group, d: d, k: k, kStride: ks, len: run, scale: scale, s: sh + j - j0, ldS: len)
                            j += run
                        }
                        groupSoftmax(s: sh, ldS: len, group: group, len: len, maxes: mb + first + i * group, sums: lb + first + i * group)
                        j = j0
                        while j < j1 {
                            let run = kv.run(j, end: j1), (v, vs) = kv.rows(j, run, values: true)
                            groupAccumulate(p: sh + j - j0, ldP: len, group: group, d: d, v: v, vStride: vs, len: run, o: og)
                            j += run
                        }
                    }
                } }
            }
        }
    } }
    // o_h = Σₛ e^{mₛ−M} oₛ / Σₛ e^{mₛ−M} lₛ over the splits s, partial (s, h) at index s · Hq + h.
    partOut.withUnsafeBufferPointer { op in
        for h in 0..<queryHeads {
            var mx = -Float.infinity
            for sp in 0..<splits { mx = max(mx, partMax[sp * queryHeads + h]) }
            var total: Float = 0
            let o = out + h * d
            o.initialize(repeating: 0, count: d)
            for sp in 0..<splits {
                let i = sp * queryHeads + h
                let w = expf(partMax[i] - mx)
                total += w * partSum[i]
                axpy(w, op.baseAddress! + i * d, o, d)
            }
            let inv = 1 / total
            for i in 0..<d { o[i] *= inv }
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
