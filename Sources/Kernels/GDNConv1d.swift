import Foundation
import TensorCore

// MARK: - Gated DeltaNet: causal depthwise conv1d + SiLU (ARCHITECTURE.md §3.2 step 2, §4)

/// Causal depthwise conv over time with SiLU, continuing from a cached history, for every channel:
/// `Y[t,c] = SiLU( Σ_{j<K} w[c,j] · X[t+j, c] )` with `X = [history ; P]` (`[K−1+T, C]`), so tap `K−1` is the
/// current token [HF `torch_causal_conv1d_update` / `F.conv1d(..., padding=K−1)[..., :T]` + SiLU]. No bias.
/// Afterwards `history` holds the last K−1 rows of `X` (oldest first), i.e. the pre-conv rows of the last
/// K−1 tokens, zeros still included when fewer tokens have been seen.
/// Vectorised and spread over the pool by channel ranges; `gdnCausalConv1dSiLUReference` is the plain twin.
public func gdnCausalConv1dSiLU(
    _ p: UnsafePointer<Float>,               // [T, C] pre-conv projected rows
    weight w: UnsafePointer<Float>,          // [C, K]
    history: UnsafeMutablePointer<Float>,    // [K−1, C] time-major, updated
    _ y: UnsafeMutablePointer<Float>,        // [T, C]
    tokens: Int, channels: Int, kernel: Int, pool: ThreadPool = .shared
) {
    precondition(tokens >= 0 && channels > 0 && kernel >= 1, "gdnCausalConv1dSiLU: bad sizes T=\(tokens) C=\(channels) K=\(kernel)")
    let h = kernel - 1
    if tokens == 0 { return }
    @inline(__always) func row(_ r: Int) -> UnsafePointer<Float> {
        r < h ? UnsafePointer(history + r * channels) : p + (r - h) * channels
    }
    var taps = [Float](repeating: 0, count: kernel * channels) // [K, C]
    for c in 0..<channels { for j in 0..<kernel { taps[j * channels + c] = w[c * kernel + j] } }
    taps.withUnsafeBufferPointer { tp in
        let taps = tp.baseAddress!
        // Channel ranges are independent; every range reads the old history, rewritten only afterwards.
        parallelRanges(channels, unit: 16, work: tokens * channels, pool: pool) { c0, c1 in
            for t in 0..<tokens {
                let yt = y + t * channels
                var c = c0
                while c + 16 <= c1 {
                    var acc = SIMD16<Float>(repeating: 0)
                    for j in 0..<kernel { acc.addProduct(load16(taps + j * channels + c), load16(row(t + j) + c)) }
                    store16(silu16(acc), yt + c)
                    c += 16
                }
                while c < c1 {
                    var acc: Float = 0
                    for j in 0..<kernel { acc += taps[j * channels + c] * row(t + j)[c] }
                    yt[c] = silu(acc)
                    c += 1
                }
            }
        }
    }
    updateConvHistory(p, history: history, tokens: tokens, channels: channels, kernel: kernel)
}

/// The last K−1 rows of `[history ; P]` become the history. Rows come either from P or from the old history
/// (when T < K−1); copied through a temporary because the old history rows shift.
func updateConvHistory(_ p: UnsafePointer<Float>, history: UnsafeMutablePointer<Float>, tokens: Int, channels: Int, kernel: Int) {
    let h = kernel - 1
    guard h > 0 else { return }
    var tail = [Float](repeating: 0, count: h * channels) // [K−1, C]
    for r in 0..<h {
        let src = tokens + r < h ? UnsafePointer(history + (tokens + r) * channels) : p + (tokens + r - h) * channels
        for c in 0..<channels { tail[r * channels + c] = src[c] }
    }
    tail.withUnsafeBufferPointer { history.update(from: $0.baseAddress!, count: h * channels) }
}

/// Plain twin of `gdnCausalConv1dSiLU`: one token, one channel, one tap at a time, straight from `[C, K]`.
public func gdnCausalConv1dSiLUReference(
    _ p: UnsafePointer<Float>, weight w: UnsafePointer<Float>, history: UnsafeMutablePointer<Float>,
    _ y: UnsafeMutablePointer<Float>, tokens: Int, channels: Int, kernel: Int
) {
    precondition(tokens >= 0 && channels > 0 && kernel >= 1, "gdnCausalConv1dSiLU: bad sizes")
    for t in 0..<tokens {
        for c in 0..<channels {
            var acc: Float = 0
            for j in 0..<kernel {   // X row t+j: history row, or P row t+j−(K−1)
                let r = t + j - (kernel - 1)
                acc += w[c * kernel + j] * (r < 0 ? history[(t + j) * channels + c] : p[r * channels + c])
            }
            y[t * channels + c] = acc / (1 + exp(-acc))   // SiLU
        }
    }
    updateConvHistory(p, history: history, tokens: tokens, channels: channels, kernel: kernel)
}
