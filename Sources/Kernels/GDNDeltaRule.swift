import Foundation

// MARK: - Gated DeltaNet: the gated delta rule, recurrent form (ARCHITECTURE.md §3.2 step 7)

/// Where one value head's inputs and outputs live: per token `t`, `q + t·qStride` (dk floats),
/// `k + t·kStride` (dk), `v + t·vStride` (dv), `g[t·gateStride]`, `beta[t·gateStride]`, `out + t·outStride` (dv).
/// `q` must already be L2-normalised and scaled by dk^-1/2, `k` L2-normalised (§3.2 step 4).
public struct GDNHeadStreams {
    public var q: UnsafePointer<Float>, qStride: Int
    public var k: UnsafePointer<Float>, kStride: Int
    public var v: UnsafePointer<Float>, vStride: Int
    public var g: UnsafePointer<Float>, beta: UnsafePointer<Float>, gateStride: Int
    public var out: UnsafeMutablePointer<Float>, outStride: Int

    public init(q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, kStride: Int,
                v: UnsafePointer<Float>, vStride: Int, g: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                gateStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int) {
        self.q = q; self.qStride = qStride; self.k = k; self.kStride = kStride; self.v = v; self.vStride = vStride
        self.g = g; self.beta = beta; self.gateStride = gateStride; self.out = out; self.outStride = outStride
    }
}

/// Gated delta rule, one token at a time, for one value head with state `S [dk, dv]` (f32, updated):
/// ```
/// S ← exp(g_t) S;  e = v_t − Sᵀ k_t;  S ← S + β_t k_t eᵀ;  o_t = Sᵀ q_t
/// ```
/// [HF `torch_recurrent_gated_delta_rule`; FLA naive recurrent]. This is the decode path and the plain
/// twin the chunked kernel is tested against.
public func gdnDeltaRuleRecurrent(
    _ s: GDNHeadStreams,
    state: UnsafeMutablePointer<Float>,   // [dk, dv]
    tokens: Int, keyDim dk: Int, valueDim dv: Int
) {
    precondition(tokens >= 0 && dk > 0 && dv > 0, "gdnDeltaRuleRecurrent: bad sizes T=\(tokens) dk=\(dk) dv=\(dv)")
    var e = [Float](repeating: 0, count: dv) // [dv]
    e.withUnsafeMutableBufferPointer { eb in
        let e = eb.baseAddress!
        for t in 0..<tokens {
            let q = s.q + t * s.qStride, k = s.k + t * s.kStride, v = s.v + t * s.vStride
            let alpha = exp(s.g[t * s.gateStride]), beta = s.beta[t * s.gateStride]
            // S ← αS and e = v − Sᵀk (with the decayed S) in one pass.
            for j in 0..<dv { e[j] = 0 }
            for i in 0..<dk {
                let row = state + i * dv, ki = k[i]
                for j in 0..<dv {
                    row[j] *= alpha
                    e[j] += row[j] * ki
                }
            }
            for j in 0..<dv { e[j] = (v[j] - e[j]) * beta }
            // S ← S + k (βe)ᵀ, then o = Sᵀq.
            let o = s.out + t * s.outStride
            for j in 0..<dv { o[j] = 0 }
            for i in 0..<dk {
                let row = state + i * dv, ki = k[i], qi = q[i]
                for j in 0..<dv {
                    row[j] += ki * e[j]
                    o[j] += row[j] * qi
                }
            }
        }
    }
}
