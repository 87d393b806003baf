import Foundation

// MARK: - Gated DeltaNet: causal depthwise conv1d + SiLU (ARCHITECTURE.md §3.2 step 2, §4)

/// Causal depthwise conv over time with SiLU, continuing from a cached history, for every channel:
/// `Y[t,c] = SiLU( Σ_{j<K} w[c,j] · X[t+j, c] )` with `X = [history ; P]` (`[K−1+T, C]`), so tap `K−1` is the
/// current token [HF `torch_causal_conv1d_update` / `F.conv1d(..., padding=K−1)[..., :T]` + SiLU]. No bias.
/// Afterwards `history` holds the last K−1 rows of `X` (oldest first), i.e. the pre-conv rows of the last
/// K−1 tokens, zeros still included when fewer tokens have been seen.
public func gdnCausalConv1dSiLU(
    _ p: UnsafePointer<Float>,               // [T, C] pre-conv projected rows
    weight w: UnsafePointer<Float>,          // [C, K] (conv1d.weight [C, 1, K] flattened)
    history: UnsafeMutablePointer<Float>,    // [K−1, C] time-major, updated
    _ y: UnsafeMutablePointer<Float>,        // [T, C]
    tokens: Int, channels: Int, kernel: Int
) {
    precondition(tokens >= 0 && channels > 0 && kernel >= 1, "gdnCausalConv1dSiLU: bad sizes T=\(tokens) C=\(channels) K=\(kernel)")
    let h = kernel - 1
    if tokens == 0 { return }
    // Row r of X (0 ≤ r < K−1+T): history row r, or P row r−(K−1).
    @inline(__always) func row(_ r: Int) -> UnsafePointer<Float> {
        r < h ? UnsafePointer(history + r * channels) : p + (r - h) * channels
    }
    // Taps transposed to [K, C] so each (token, tap) is one contiguous axpy over channels (vectorises).
    var taps = [Float](repeating: 0, count: kernel * channels) // [K, C]
    for c in 0..<channels { for j in 0..<kernel { taps[j * channels + c] = w[c * kernel + j] } }
    taps.withUnsafeBufferPointer { tp in
        let taps = tp.baseAddress!
        for t in 0..<tokens {
            let yt = y + t * channels
            yt.update(repeating: 0, count: channels)
            for j in 0..<kernel {
                let xr = row(t + j), wr = taps + j * channels
                for c in 0..<channels { yt[c] += wr[c] * xr[c] }
            }
            for c in 0..<channels { yt[c] = yt[c] / (1 + exp(-yt[c])) }   // SiLU
        }
    }
    // New history: the last K−1 rows of X. Rows come either from P or from the old history (when T < K−1);
    // copy through a temporary because the old history rows shift.
    if h > 0 {
        var tail = [Float](repeating: 0, count: h * channels) // [K−1, C]
        for r in 0..<h {
            let src = row(tokens + r)
            for c in 0..<channels { tail[r * channels + c] = src[c] }
        }
        tail.withUnsafeBufferPointer { history.update(from: $0.baseAddress!, count: h * channels) }
    }
}
