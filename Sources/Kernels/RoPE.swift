import Foundation

/// Partial rotary embedding in the rotate-half (NeoX) layout (ARCHITECTURE.md §3.3 step 4): only the first
/// `rotaryDim` dims of each head rotate; element i pairs with i + R/2; ω_i = θ^(−2i/R) (denominator R, not D),
/// rescaled by `scaling` (linear or YaRN) and cos/sin multiplied by its attention factor.
/// For text-only input the interleaved mRoPE sections all carry the same position, so this is plain 1-D RoPE.
///
/// Frequencies, angles and cos/sin are computed in Double and rounded to Float once. transformers forms the
/// angle `inv_freq · position` in f32, which is off by up to half an f32 ulp of the angle: 2^−6 rad at position
/// 262,143 (the released models' limit), enough to turn the fastest pairs' rotation into noise. In Double the
/// angle is exact to ~1e-10 rad there; at the fixtures' positions (< 300) both agree to ~1e-5 rad.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    public let rotaryDim: Int
    /// ω_i after scaling. `[R/2]`
    public let inverseFrequencies: [Double]
    /// Multiplies cos and sin (YaRN's attention factor; 1 otherwise).
    public let attentionFactor: Double

    public init(headDim: Int, rotaryDim: Int, theta: Double, scaling: RoPEScaling = .none) {
        precondition(rotaryDim % 2 == 0 && rotaryDim <= headDim, "rotary dim \(rotaryDim) vs head dim \(headDim)")
        self.headDim = headDim
        self.rotaryDim = rotaryDim
        (inverseFrequencies, attentionFactor) = scaling.frequencies(rotaryDim: rotaryDim, theta: theta)
    }

    /// cos and sin of every pair's angle at `position`, times the attention factor. `cosv`, `sinv`: `[R/2]`.
    @inline(__always)
    func angles(at position: Int, cos cosv: UnsafeMutablePointer<Float>, sin sinv: UnsafeMutablePointer<Float>) {
        let p = Double(position)
        for i in 0..<(rotaryDim / 2) {
            let a = p * inverseFrequencies[i]
            cosv[i] = Float(Foundation.cos(a) * attentionFactor)
            sinv[i] = Float(Foundation.sin(a) * attentionFactor)
        }
    }

    /// Rotates `heads` heads of every token in place. `x`: `[tokens, heads, D]`; token t sits at `start + t`.
    public func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, start: Int) {
        precondition(start >= 0 && tokens >= 0, "rope: start \(start), tokens \(tokens)")
        let half = rotaryDim / 2
        var cosv = [Float](repeating: 0, count: half), sinv = [Float](repeating: 0, count: half)   // [R/2] each
        for t in 0..<tokens {
            cosv.withUnsafeMutableBufferPointer { c in sinv.withUnsafeMutableBufferPointer { s in
                angles(at: start + t, cos: c.baseAddress!, sin: s.baseAddress!)
            } }
            for h in 0..<heads {
                let v = x + (t * heads + h) * headDim
                for i in 0..<half {
                    let x1 = v[i], x2 = v[i + half]
                    // q_embed = q * cos + rotate_half(q) * sin, rotate_half(q) = cat(−q2, q1)
                    v[i] = x1 * cosv[i] - x2 * sinv[i]
                    v[i + half] = x2 * cosv[i] + x1 * sinv[i]
                }
            }
        }
    }
}
