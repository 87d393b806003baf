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
    var kk = [Float](repeating: 0, count: c * c)       // [c, c] k_i·k_j
    var u = [Float](repeating: 0, count: c * dv)       // [c, dv] U
    var s0 = [Float](repeating: 0, count: dk * dv)     // [dk, dv] incoming state
    var start = 0
    while start < tokens {
        let n = min(c, tokens - start)
        @inline(__always) func qp(_ i: Int) -> UnsafePointer<Float> { s.q + (start + i) * s.qStride }
        @inline(__always) func kp(_ i: Int) -> UnsafePointer<Float> { s.k + (start + i) * s.kStride }
        @inline(__always) func vp(_ i: Int) -> UnsafePointer<Float> { s.v + (start + i) * s.vStride }
        @inline(__always) func beta(_ i: Int) -> Float { s.beta[(start + i) * s.gateStride] }
        var acc: Float = 0
        for i in 0..<n { acc += s.g[(start + i) * s.gateStride]; gamma[i] = acc }
        for i in 0..<n {
            for j in 0...i { decay[i * c + j] = exp(gamma[i] - gamma[j]) }   // masked: j ≤ i only
            for j in 0..<i {
                var d: Float = 0
                let ki = kp(i), kj = kp(j)
                for x in 0..<dk { d += ki[x] * kj[x] }
                kk[i * c + j] = d
            }
        }
        s0.withUnsafeMutableBufferPointer { s0b in
            let s0 = s0b.baseAddress!
            s0.update(from: state, count: dk * dv)
            u.withUnsafeMutableBufferPointer { ub in
                let u = ub.baseAddress!
                // U row i: β_i (v_i − Γ_i S₀ᵀ k_i) − Σ_{j<i} β_i Γ_{i/j} (k_i·k_j) u_j.
                for i in 0..<n {
                    let ui = u + i * dv, ki = kp(i), vi = vp(i), gi = exp(gamma[i]), bi = beta(i)
                    for x in 0..<dv { ui[x] = 0 }
                    for y in 0..<dk {
                        let w = ki[y] * gi, row = s0 + y * dv
                        for x in 0..<dv { ui[x] += row[x] * w }
                    }
                    for x in 0..<dv { ui[x] = vi[x] - ui[x] }
                    for j in 0..<i {
                        let a = decay[i * c + j] * kk[i * c + j], uj = u + j * dv
                        for x in 0..<dv { ui[x] -= a * uj[x] }
                    }
                    for x in 0..<dv { ui[x] *= bi }
                }
                // Outputs: o_i = Γ_i S₀ᵀ q_i + Σ_{j≤i} Γ_{i/j} (q_i·k_j) u_j.
                for i in 0..<n {
                    let o = s.out + (start + i) * s.outStride, qi = qp(i), gi = exp(gamma[i])
                    for x in 0..<dv { o[x] = 0 }
                    for y in 0..<dk {
                        let w = qi[y] * gi, row = s0 + y * dv
                        for x in 0..<dv { o[x] += row[x] * w }
                    }
                    for j in 0...i {
                        var d: Float = 0
                        let kj = kp(j)
                        for y in 0..<dk { d += qi[y] * kj[y] }
                        let a = decay[i * c + j] * d, uj = u + j * dv
                        for x in 0..<dv { o[x] += a * uj[x] }
                    }
                }
                // State carry: S = Γ_n S₀ + Σ_j Γ_{n/j} k_j u_jᵀ.
                let gn = exp(gamma[n - 1])
                for y in 0..<dk {
                    let row = state + y * dv
                    for x in 0..<dv { row[x] = s0[y * dv + x] * gn }
                }
                for j in 0..<n {
                    let kj = kp(j), uj = u + j * dv, dj = decay[(n - 1) * c + j]
                    for y in 0..<dk {
                        let w = kj[y] * dj, row = state + y * dv
                        for x in 0..<dv { row[x] += w * uj[x] }
                    }
                }
            }
        }
        start += n
    }
}
