import Foundation
import TensorCore

/// Keys per step of the blocked prefill: one KV page, on a fixed grid of absolute key positions, so a query's
/// order of operations depends only on the positions (not on the batch, nor on how the cache is paged).
let prefillKeyBlock = 64

/// Prefill form of `causalAttention`, flash-attention style (Dao et al., FlashAttention, Alg. 1): the queries of
/// a block of tokens, for all query heads that share one KV head (m = 64 rows), walk the keys one block at a
/// time. Per key block, two products on the register-tiled `gdnMatMulAdd` (`Sᵀ = K_b · Qᵀ`, then `O += P_b · V_b`)
/// and an online softmax between them: each row keeps its running max `mᵣ` and sum `lᵣ`; a block with a larger
/// max rescales the row's sum and output by `e^{m_old − m_new}`, and O is divided by `lᵣ` at the end. Every key
/// and value row is loaded once per 64 query rows, and the scratch is `O(m · (64 + D))` whatever the context
/// (the two-pass form held `[m, context]` scores and probabilities).
func causalAttentionBlocked(
    q: UnsafePointer<Float>, pages: KVPages, out: UnsafeMutablePointer<Float>,
    tokens: Int, cached: Int, queryHeads: Int, kvHeads: Int, headDim d: Int, scale: Float, pool: ThreadPool
) {
    let group = queryHeads / kvHeads, kb = prefillKeyBlock
    var g = 64, x = group   // tokens per block: the smallest count whose rows (× group) fill 64-column tiles
    while x > 0 { (g, x) = (x, g % x) }
    let block = 64 / g
    let blocks = (tokens + block - 1) / block
    let scratchFloats = KVRowReader.scratchFloats(pages.type, rows: kb, headDim: d)
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
        var st = [Float](repeating: 0, count: kb * m)          // [keys of a block, m] scores, key-major
        var p = [Float](repeating: 0, count: m * kb)           // [m, keys of a block] e^{s − mᵣ}
        var o = [Float](repeating: 0, count: m * d)            // [m, D] running Σ e^{s − mᵣ} v
        var rowMax = [Float](repeating: -.infinity, count: m)  // [m]
        var rowSum = [Float](repeating: 0, count: m)           // [m]
        var scratch = [Float](repeating: 0, count: scratchFloats)   // [64, D] widened rows
        qt.withUnsafeBufferPointer { qtp in st.withUnsafeMutableBufferPointer { sp in p.withUnsafeMutableBufferPointer { pp in
        o.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { xp in
            let (s, pr, ob) = (sp.baseAddress!, pp.baseAddress!, op.baseAddress!)
            let kv = KVRowReader(pages, kvHead: kvh, kvHeads: kvHeads, headDim: d, scratch: xp.baseAddress)
            var j0 = 0
            while j0 < n {
                let rows = min(kv.run(j0, end: n), kb - j0 % kb)
                s.update(repeating: 0, count: rows * m)
                let (k, ks) = kv.rows(j0, rows, values: false)
                gdnMatMulAdd(k, lda: ks, qtp.baseAddress!, ldb: m, s, ldc: m, m: rows, k: d, n: m)
                for r in 0..<m {
                    let row = pr + r * rows                                // P is [m, rows] for this block
                    let visible = min(rows, cached + t0 + r / group + 1 - j0)   // keys j0 ..< j0 + visible
                    guard visible > 0 else { row.update(repeating: 0, count: rows); continue }
                    var mx = rowMax[r]
                    for j in 0..<visible { row[j] = s[j * m + r] * scale; mx = max(mx, row[j]) }
                    var sum: Float = 0, j = 0
                    while j + 16 <= visible {
                        let e = exp16(load16(row + j) - SIMD16(repeating: mx))
                        store16(e, row + j); sum += e.sum(); j += 16
                    }
                    while j < visible { row[j] = expf(row[j] - mx); sum += row[j]; j += 1 }
                    for j in visible..<rows { row[j] = 0 }                 // masked keys add nothing to P · V
                    if mx != rowMax[r] {                                   // a larger max: rescale what came before
                        let c = expf(rowMax[r] - mx)                       // 0 on the first block (−∞)
                        rowSum[r] *= c
                        for i in 0..<d { ob[r * d + i] *= c }
                        rowMax[r] = mx
                    }
                    rowSum[r] += sum
                }
                let (v, vs) = kv.rows(j0, rows, values: true)
                gdnMatMulAdd(pr, lda: rows, v, ldb: vs, ob, ldc: d, m: m, k: rows, n: d)
                j0 += rows
            }
            for r in 0..<m {
                let inv = 1 / rowSum[r]
                for i in 0..<d { ob[r * d + i] *= inv }
            }
        } } } } }
        for ti in 0..<bt {
            for gi in 0..<group {
                let dst = out + ((t0 + ti) * queryHeads + kvh * group + gi) * d
                o.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + (ti * group + gi) * d, count: d) }
            }
        }
    }
}
