import Foundation
import Kernels
import SafeTensors
import TensorCore

/// Gated full attention of every fourth Qwen3.5 layer (ARCHITECTURE.md §3.3; transformers
/// `Qwen3_5Attention`): q_proj yields query and gate interleaved per head, per-head zero-centred q/k norms,
/// partial rotate-half RoPE, GQA causal softmax attention over the KV cache, `o ⊙ sigmoid(gate)`, o_proj.
public struct GatedAttention: Sendable {
    let qProj: WeightTensor   // [2·Hq·D, H]: per head D query rows then D gate rows
    let kProj: WeightTensor   // [Hkv·D, H]
    let vProj: WeightTensor   // [Hkv·D, H]
    let oProj: WeightTensor   // [H, Hq·D]
    let qNorm: RMSNorm        // over D
    let kNorm: RMSNorm        // over D
    let rope: RotaryEmbedding
    let heads: Int, kvHeads: Int, headDim: Int

    /// `prefix` ends with `self_attn.`.
    public init(config: Qwen35Config, store: any WeightSource, prefix: String) throws {
        let h = config.hiddenSize, d = config.headDim
        heads = config.numAttentionHeads; kvHeads = config.numKeyValueHeads; headDim = d
        qProj = try store.take(prefix + "q_proj.weight", shape: [2 * heads * d, h])
        kProj = try store.take(prefix + "k_proj.weight", shape: [kvHeads * d, h])
        vProj = try store.take(prefix + "v_proj.weight", shape: [kvHeads * d, h])
        oProj = try store.take(prefix + "o_proj.weight", shape: [h, heads * d])
        qNorm = try RMSNorm(store: store, name: prefix + "q_norm.weight", dim: d, eps: config.rmsNormEps)
        kNorm = try RMSNorm(store: store, name: prefix + "k_norm.weight", dim: d, eps: config.rmsNormEps)
        rope = RotaryEmbedding(headDim: d, rotaryDim: config.rotaryDim, theta: config.ropeTheta, scaling: config.ropeScaling)
        var pools: [KVType: KVPagePool] = [:]
        for type in KVType.allCases where d % type.blockElements == 0 {
            pools[type] = KVPagePool(pageTokens: KVPagePool.defaultPageTokens, kvHeads: kvHeads, headDim: d, type: type)
        }
        pagePools = pools
    }

    /// The layer's KV pages, one pool per storage type (empty until used), shared by every sequence of the model.
    let pagePools: [KVType: KVPagePool]

    /// An empty cache storing K and V as `type` (the model checked at load that the head fits its blocks).
    public func makeCache(type: KVType = .f32) -> KVCache {
        guard let pool = pagePools[type] else { preconditionFailure("KV type \(type) does not fit head_dim \(headDim)") }
        return KVCache(pool: pool)
    }

    /// Intermediate tensors named after the reference fixtures (`p2.L<i>.attn.*`), for tests.
    struct Trace {
        var query: [Float]      // [T, Hq, D] before q_norm
        var qNormed: [Float]    // [T, Hq, D] after q_norm, before RoPE
        var kNormed: [Float]    // [T, Hkv, D] after k_norm, before RoPE
        var gatedOut: [Float]   // [T, Hq·D] before o_proj
    }

    /// `x`: normed input `[T, H]` at positions `cache.count ..< cache.count + T` → `[T, H]`; appends to `cache`.
    public func callAsFunction(_ x: [Float], tokens: Int, cache: inout KVCache, pool: ThreadPool = .shared) -> [Float] {
        var caches = [cache]
        cache = KVCache(pool: cache.pool)
        defer { cache = caches[0] }
        return forward(x, segments: Segments([tokens], starts: [caches[0].count]), caches: &caches, pool: pool, trace: nil)
    }

    /// Several sequences' rows at once: projections over all rows, then per segment RoPE at its own
    /// positions, its cache and causal attention over it per 64-token grid piece (the attention path depends
    /// only on the piece).
    func forward(_ x: [Float], segments: Segments, caches: inout [KVCache], pool: ThreadPool,
                 trace: ((Trace) -> Void)?) -> [Float] {
        let d = headDim, hq = heads, hkv = kvHeads, t = segments.total, rowwise = segments.rowwise
        precondition(x.count == t * qProj.shape[1] && caches.count == segments.count, "attention: bad input or caches")
        for cache in caches { precondition(cache.headDim == d && cache.kvHeads == hkv, "attention: cache does not fit the layer") }
        let qg = matmul(x, qProj, tokens: t, rowwise: rowwise, pool: pool)   // [T, Hq, 2D]
        var q = [Float](repeating: 0, count: t * hq * d)         // [T, Hq, D]
        var gate = [Float](repeating: 0, count: t * hq * d)      // [T, Hq·D]
        for r in 0..<(t * hq) {                                  // view(..., Hq, 2D).chunk(2, dim=-1)
            for i in 0..<d {
                q[r * d + i] = qg[r * 2 * d + i]
                gate[r * d + i] = qg[r * 2 * d + d + i]
            }
        }
        let rawQuery = trace == nil ? [] : q
        var k = matmul(x, kProj, tokens: t, rowwise: rowwise, pool: pool)   // [T, Hkv, D]
        let v = matmul(x, vProj, tokens: t, rowwise: rowwise, pool: pool)   // [T, Hkv, D]
        qNorm.apply(&q)
        kNorm.apply(&k)
        let normed = trace == nil ? ([], []) : (q, k)
        var o = [Float](repeating: 0, count: t * hq * d)         // [T, Hq, D]
        for (i, (r0, n)) in segments.ranges.enumerated() {
            let start = caches[i].count
            q.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress! + r0 * hq * d, tokens: n, heads: hq, start: start) }
            k.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress! + r0 * hkv * d, tokens: n, heads: hkv, start: start) }
            k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                caches[i].append(keys: kp.baseAddress! + r0 * hkv * d, values: vp.baseAddress! + r0 * hkv * d, tokens: n)
            } }
            let pages = caches[i].pages
            // Grid piece by grid piece (Segments.pieces): which kernel runs depends on the query count, and a
            // piece reads only its causal keys, so a wide forward gives the bits of one grid chunk per forward.
            for piece in segments.pieces(i) {
                let row = r0 + piece.offset
                q.withUnsafeBufferPointer { qp in
                    o.withUnsafeMutableBufferPointer { op in
                        causalAttention(q: qp.baseAddress! + row * hq * d, pages: pages, out: op.baseAddress! + row * hq * d,
                                        tokens: piece.count, cached: start + piece.offset, queryHeads: hq, kvHeads: hkv,
                                        headDim: d, scale: 1 / Float(d).squareRoot(), pool: pool)
                    }
                }
            }
        }
        o.withUnsafeMutableBufferPointer { op in gate.withUnsafeBufferPointer { gp in   // attn_output * torch.sigmoid(gate)
            mulSigmoid(op.baseAddress!, gate: gp.baseAddress!, op.count)
        } }
        trace?(Trace(query: rawQuery, qNormed: normed.0, kNormed: normed.1, gatedOut: o))
        return matmul(o, oProj, tokens: t, rowwise: rowwise, pool: pool)    // [T, H]
    }
}
