import Foundation
import TensorCore

/// Keys per step of the blocked prefill: one KV page, on a fixed grid of absolute key positions, so a query's
/// order of operations depends only on the positions (not on the batch, nor on how the cache is paged).
let prefillKeyBlock = 64

/// Prefill form of `causalAttention`, flash-attention style (Dao et al., FlashAttention, Alg. 1): the queries of
/// a work item (a run of tokens, for all query heads that share one KV head: up to 256 rows) walk the keys one
/// block at a time. Per key block, two products on the register-tiled `gdnMatMulAdd` (`Sᵀ = K_b · Qᵀ`, then
/// `O += P_b · V_b` reading P from the key-major `Pᵀ`) and an online softmax between them, vectorised across
/// query rows: each row keeps its running max `mᵣ` and sum `lᵣ`; a block with a larger max rescales the row's
/// sum and output by `e^{m_old − m_new}`, and O is divided by `lᵣ` at the end. Every key and value row is loaded
/// once per work item, and the scratch is `O(m · (64 + D))` whatever the context (the two-pass form held
/// `[m, context]` scores and probabilities).
func causalAttentionBlocked(
    q: UnsafePointer<Float>, pages: KVPages, out: UnsafeMutablePointer<Float>,
    tokens: Int, cached: Int, queryHeads: Int, kvHeads: Int, headDim d: Int, scale: Float, pool: ThreadPool
) {
    precondition(cached + tokens < Int(Int32.max), "attention: positions beyond Int32")   // query positions ride in Int32 lanes
    let group = queryHeads / kvHeads, kb = prefillKeyBlock
    var g = 64, x = group   // tokens per block: the smallest count whose rows (× group) fill 64-column tiles
    while x > 0 { (g, x) = (x, g % x) }
    let block = 64 / g
    // A work item takes as many blocks as keep every thread busy (up to 256 query rows, so that its Qᵀ, O and
    // scores stay in L2): each item reads and widens the whole KV of its head once, so fewer, larger items
    // read it fewer times. A row's result does not depend on which item it is in.
    let perItem = block * max(1, min((tokens + block - 1) / block * kvHeads / pool.threadCount, 256 / (block * group)))
    let items = (tokens + perItem - 1) / perItem
    let scratchFloats = KVRowReader.scratchFloats(pages.type, rows: kb, headDim: d)
    pool.parallelFor(kvHeads * items) { item in
        let kvh = item / items, t0 = (item % items) * perItem
        let bt = min(perItem, tokens - t0), m = bt * group   // query rows r = ti·group + gi
        let n = cached + t0 + bt                           // keys the item's last query sees
        var qt = [Float](repeating: 0, count: d * m)       // [D, m] queries, transposed
        for ti in 0..<bt {
            for gi in 0..<group {
                let qv = q + ((t0 + ti) * queryHeads + kvh * group + gi) * d
                for i in 0..<d { qt[i * m + ti * group + gi] = qv[i] }
            }
        }
        let mp = (m + 15) / 16 * 16                            // query rows padded to whole vectors of 16
        var st = [Float](repeating: 0, count: kb * mp)         // [keys of a block, mp] scores, then e^{s − mᵣ}
        var o = [Float](repeating: 0, count: m * d)            // [m, D] running Σ e^{s − mᵣ} v
        var rowMax = [Float](repeating: -.infinity, count: mp) // [mp]
        var rowSum = [Float](repeating: 0, count: mp)          // [mp]
        var scratch = [Float](repeating: 0, count: scratchFloats)   // [64, D] widened rows
        // Absolute position of each query row (r = ti·group + gi); padding rows see every key.
        let qpos = (0..<mp).map { Int32($0 < m ? cached + t0 + $0 / group : Int(Int32.max)) }   // [mp]
        qt.withUnsafeBufferPointer { qtp in st.withUnsafeMutableBufferPointer { sp in
        o.withUnsafeMutableBufferPointer { op in scratch.withUnsafeMutableBufferPointer { xp in
        rowMax.withUnsafeMutableBufferPointer { mxp in rowSum.withUnsafeMutableBufferPointer { smp in
        qpos.withUnsafeBufferPointer { qpp in
            let (s, ob) = (sp.baseAddress!, op.baseAddress!)
            let kv = KVRowReader(pages, kvHead: kvh, kvHeads: kvHeads, headDim: d, scratch: xp.baseAddress)
            let firstQuery = cached + t0                       // the item's lowest query position
            var j0 = 0
            while j0 < n {
                let rows = min(kv.run(j0, end: n), kb - j0 % kb)
                s.update(repeating: 0, count: rows * mp)
                let (k, ks) = kv.rows(j0, rows, values: false)
                gdnMatMulAdd(k, lda: ks, qtp.baseAddress!, ldb: m, s, ldc: mp, m: rows, k: d, n: m)
                // Online softmax across query rows, 16 lanes at a time over the key-major scores: each lane
                // runs the same operations for its row, so a row's result does not depend on its lane.
                let masked = j0 + rows - 1 > firstQuery        // some key of the block is after some query
                for c in stride(from: 0, to: mp, by: 16) {
                    let qp = UnsafeRawPointer(qpp.baseAddress! + c).loadUnaligned(as: SIMD16<Int32>.self)
                    let old = load16(mxp.baseAddress! + c)
                    var mx = old
                    for j in 0..<rows {
                        var v = load16(s + j * mp + c) * SIMD16(repeating: scale)
                        if masked { v.replace(with: -.infinity, where: qp .< SIMD16(repeating: Int32(j0 + j))) }
                        store16(v, s + j * mp + c)
                        mx.replace(with: v, where: v .> mx)    // not pointwiseMax: that one runs lane by lane here
                    }
                    var sum = SIMD16<Float>()
                    for j in 0..<rows {
                        var e = exp16(load16(s + j * mp + c) - mx)
                        if masked { e.replace(with: 0, where: qp .< SIMD16(repeating: Int32(j0 + j))) }   // masked keys add nothing
                        store16(e, s + j * mp + c)
                        sum += e
                    }
                    let grew = any(mx .!= old)
                    for lane in 0..<16 where grew && c + lane < m && mx[lane] != old[lane] {   // a larger max: rescale what came before
                        let r = c + lane, f = expf(old[lane] - mx[lane])             // 0 on the first block (−∞)
                        smp[r] *= f
                        let orow = ob + r * d
                        var i = 0
                        while i + 16 <= d { store16(load16(orow + i) * SIMD16(repeating: f), orow + i); i += 16 }
                        while i < d { orow[i] *= f; i += 1 }
                    }
                    store16(mx, mxp.baseAddress! + c)
                    store16(load16(smp.baseAddress! + c) + sum, smp.baseAddress! + c)
                }
                let (v, vs) = kv.rows(j0, rows, values: true)
                gdnMatMulAdd(transposedA: s, lda: mp, v, ldb: vs, ob, ldc: d, m: m, k: rows, n: d)
                j0 += rows
            }
            for r in 0..<m {
                let inv = 1 / smp[r]
                for i in 0..<d { ob[r * d + i] *= inv }
            }
        } } } } } } }
        for ti in 0..<bt {
            for gi in 0..<group {
                let dst = out + ((t0 + ti) * queryHeads + kvh * group + gi) * d
                o.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + (ti * group + gi) * d, count: d) }
            }
        }
    }
}
