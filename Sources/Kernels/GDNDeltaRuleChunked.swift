import Foundation

// MARK: - Gated DeltaNet: the gated delta rule, chunked (WY / UT) form (ARCHITECTURE.md §3.2.1)

/// Chunk length of the chunked delta rule, as in HF, FLA and llama.cpp.
public let gdnChunkSize = 64

/// Gated delta rule over `tokens` steps for one value head, chunk by chunk (the prefill path). Same result
/// as `gdnDeltaRuleRecurrent` up to f32 rounding. Per chunk of length n ≤ 64 with incoming state `S₀`:
/// * `γ_i = Σ_{j≤i} g_j`; every decay factor is `exp(γ_i − γ_j)` with j ≤ i (exponent ≤ 0), formed from
///   differences only and only for the lower triangle [HF `decay_mask = ((g[..., :, None] - g[..., None, :])
///   .tril().exp()).tril()`].
/// * `U` solves `(I + A) U = diag(β)(V − diag(Γ) K S₀)`, `A_ij = β_i Γ_{i/j} (k_i·k_j)` (j < i), by forward
///   substitution (= HF `new_values − k_cumdecay @ S₀` with `Tm = (I + A)^{-1}`).
/// * `O = diag(Γ) Q S₀ + (M ⊙ Q Kᵀ) U`, `M_ij = Γ_{i/j}` for j ≤ i.
/// * `S ← Γ_n S₀ + Σ_j Γ_{n/j} k_j u_jᵀ`.
/// A short last chunk is processed at its own length, which equals zero-padding it (padded steps have
/// β = 0, g = 0, q = k = 0 and change neither outputs nor state).
public func gdnDeltaRuleChunked(
    _ s: GDNHeadStreams,
    state: UnsafeMutablePointer<Float>,   // [dk, dv]
    tokens: Int, keyDim dk: Int, valueDim dv: Int
) {
    precondition(tokens >= 0 && dk > 0 && dv > 0, "gdnDeltaRuleChunked: bad sizes T=\(tokens) dk=\(dk) dv=\(dv)")
    let c = gdnChunkSize
    var gamma = [Float](repeating: 0, count: c)        // [c] cumulative log-decay
    var decay = [Float](repeating: 0, count: c * c)    // [c, c] Γ_{i/j}, lower triangle incl. diagonal
    var kk = [Float](repeating: 0, count: c * c)       // [c, c] k_i·k_j (j < i)
    var ks = [Float](repeating: 0, count: c * dv)      // [c, dv] K S₀, then U
    var qs = [Float](repeating: 0, count: c * dv)      // [c, dv] Q S₀, then O
    var kT = [Float](repeating: 0, count: dk * c)      // [dk, c] Kᵀ, then (diag(Γ_{n/·}) K)ᵀ
    var qk = [Float](repeating: 0, count: c * c)       // [c, c] q_i·k_j
    var start = 0
    while start < tokens {
        let n = min(c, tokens - start)
        let q0 = s.q + start * s.qStride, k0 = s.k + start * s.kStride
        @inline(__always) func kp(_ i: Int) -> UnsafePointer<Float> { k0 + i * s.kStride }
        @inline(__always) func vp(_ i: Int) -> UnsafePointer<Float> { s.v + (start + i) * s.vStride }
        @inline(__always) func beta(_ i: Int) -> Float { s.beta[(start + i) * s.gateStride] }
        var acc: Float = 0
        for i in 0..<n { acc += s.g[(start + i) * s.gateStride]; gamma[i] = acc }
        for i in 0..<n {
            for j in 0...i { decay[i * c + j] = exp(gamma[i] - gamma[j]) }   // masked: j ≤ i only
        }
        ks.withUnsafeMutableBufferPointer { ksb in qs.withUnsafeMutableBufferPointer { qsb in
            kT.withUnsafeMutableBufferPointer { kdb in kk.withUnsafeMutableBufferPointer { kkb in
            qk.withUnsafeMutableBufferPointer { qkb in
                let u = ksb.baseAddress!, o = qsb.baseAddress!, kd = kdb.baseAddress!
                let kkp = kkb.baseAddress!, qkp = qkb.baseAddress!
                // K Kᵀ and Q Kᵀ as [n, dk]·[dk, n] products (full squares; only the lower triangles are read).
                for j in 0..<n {
                    let kj = kp(j)
                    for y in 0..<dk { kd[y * c + j] = kj[y] }
                }
                kkp.update(repeating: 0, count: n * c)
                qkp.update(repeating: 0, count: n * c)
                gdnMatMulAdd(k0, lda: s.kStride, kd, ldb: c, kkp, ldc: c, m: n, k: dk, n: n)
                gdnMatMulAdd(q0, lda: s.qStride, kd, ldb: c, qkp, ldc: c, m: n, k: dk, n: n)
                // K S₀ and Q S₀ as two [n, dk]·[dk, dv] products.
                u.update(repeating: 0, count: n * dv)
                o.update(repeating: 0, count: n * dv)
                gdnMatMulAdd(k0, lda: s.kStride, state, ldb: dv, u, ldc: dv, m: n, k: dk, n: dv)
                gdnMatMulAdd(q0, lda: s.qStride, state, ldb: dv, o, ldc: dv, m: n, k: dk, n: dv)
                // U row i: β_i (v_i − Γ_i (S₀ᵀk_i) − Σ_{j<i} Γ_{i/j} (k_i·k_j) u_j), in place over K S₀.
                for i in 0..<n {
                    let ui = u + i * dv, vi = vp(i), gi = exp(gamma[i]), bi = beta(i)
                    for x in 0..<dv { ui[x] = vi[x] - gi * ui[x] }
                    for j in 0..<i {
                        let a = decay[i * c + j] * kkp[i * c + j], uj = u + j * dv
                        for x in 0..<dv { ui[x] -= a * uj[x] }
                    }
                    for x in 0..<dv { ui[x] *= bi }
                }
                // Outputs: o_i = Γ_i (S₀ᵀq_i) + Σ_{j≤i} Γ_{i/j} (q_i·k_j) u_j.
                for i in 0..<n {
                    let oi = o + i * dv, gi = exp(gamma[i])
                    for x in 0..<dv { oi[x] *= gi }
                    for j in 0...i {
                        let a = decay[i * c + j] * qkp[i * c + j], uj = u + j * dv
                        for x in 0..<dv { oi[x] += a * uj[x] }
                    }
                    let out = s.out + (start + i) * s.outStride
                    out.update(from: oi, count: dv)
                }
                // State carry: S = Γ_n S₀ + (diag(Γ_{n/·}) K)ᵀ U, a [dk, n]·[n, dv] product.
                for y in 0..<dk {
                    for j in 0..<n { kd[y * c + j] *= decay[(n - 1) * c + j] }
                }
                let gn = exp(gamma[n - 1])
                for e in 0..<(dk * dv) { state[e] *= gn }
                gdnMatMulAdd(kd, lda: c, u, ldb: dv, state, ldc: dv, m: dk, k: n, n: dv)
            } } }
        } }
        start += n
    }
}
