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
    precondition(queryHeads % kvHeads == 0, "query heads \(queryHeads) not a multiple of KV heads \(kvHeads)")
    let group = queryHeads / kvHeads
    let kvStride = kvHeads * d
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
                    let v = dot(qv, keys + j * kvStride + kvh * d, d) * scale
                    s[j] = v
                    mx = max(mx, v)
                }
                var sum: Float = 0
                for j in 0..<n { let e = expf(s[j] - mx); s[j] = e; sum += e }
                let o = out + (t * queryHeads + h) * d
                o.initialize(repeating: 0, count: d)
                let inv = 1 / sum
                for j in 0..<n { axpy(s[j] * inv, values + j * kvStride + kvh * d, o, d) }
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
