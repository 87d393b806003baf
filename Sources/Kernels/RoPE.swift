import Foundation

/// Partial rotary embedding in the rotate-half (NeoX) layout (ARCHITECTURE.md §3.3 step 4): only the first
/// `rotaryDim` dims of each head rotate; element i pairs with i + R/2; ω_i = θ^(−2i/R) (denominator R, not D).
/// For text-only input the interleaved mRoPE sections all carry the same position, so this is plain 1-D RoPE.
/// Angles are formed in f32 like the reference (`inv_freq` f32, `freqs = inv_freq · position` in f32).
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    public let rotaryDim: Int
    let invFreq: [Float]   // [R/2]

    public init(headDim: Int, rotaryDim: Int, theta: Double) {
        precondition(rotaryDim % 2 == 0 && rotaryDim <= headDim, "rotary dim \(rotaryDim) vs head dim \(headDim)")
        self.headDim = headDim
        self.rotaryDim = rotaryDim
        // transformers: 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), all f32.
        invFreq = (0..<(rotaryDim / 2)).map { i in 1 / powf(Float(theta), Float(2 * i) / Float(rotaryDim)) }
    }

    /// Rotates `heads` heads of every token in place. `x`: `[tokens, heads, D]`; token t sits at `start + t`.
    public func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, start: Int) {
        let half = rotaryDim / 2
        var cosv = [Float](repeating: 0, count: half), sinv = [Float](repeating: 0, count: half)
        for t in 0..<tokens {
            let p = Float(start + t)
            for i in 0..<half {
                let a = p * invFreq[i]
                cosv[i] = cosf(a); sinv[i] = sinf(a)
            }
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
