import CKernels
import Foundation

// Inner loops of decode attention for one KV head and one run of key/value rows (rows `stride` floats apart),
// serving all `group` query heads that share the KV head. At long context these loops are the decode step's
// attention cost: each key and value row is loaded once for the whole group and several accumulators run side
// by side (a single dot product per (head, key) is latency-bound on its one accumulator chain), and the
// exponentials are vectorised. `groupScoresReference` / `groupSoftmaxReference` / `groupAccumulateReference`
// are the plain twins (AttentionDecodeKernelTests pins them together).

/// s[g · ldS + i] = (q_g · k_i) · scale for g < group, i < len. `q` is `[group, d]`, key i at `k + i · kStride`.
/// Heads in fours on the C kernel (attention.c, AVX-512 with prefetch); the rest, or all of them without
/// AVX-512, one dot product per (head, key).
func groupScores(q: UnsafePointer<Float>, group: Int, d: Int, k: UnsafePointer<Float>, kStride: Int, len: Int,
                 scale: Float, s: UnsafeMutablePointer<Float>, ldS: Int) {
    var g = 0
    while g + 4 <= group, qk_attn_scores4(q + g * d, d, k, kStride, len, scale, s + g * ldS, ldS) != 0 { g += 4 }
    while g < group {
        for i in 0..<len { s[g * ldS + i] = dot(q + g * d, k + i * kStride, d) * scale }
        g += 1
    }
}

/// Per row g of `s` (`len` scores): m_g = max, s ← e^{s − m_g}, l_g = Σ s. Returns through `maxes` / `sums`.
func groupSoftmax(s: UnsafeMutablePointer<Float>, ldS: Int, group: Int, len: Int,
                  maxes: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
    for g in 0..<group {
        let row = s + g * ldS
        var mx = -Float.infinity
        var j = 0
        if len >= 16 {
            var m16 = load16(row)
            j = 16
            while j + 16 <= len { m16 = pointwiseMax(m16, load16(row + j)); j += 16 }
            mx = m16.max()
        }
        while j < len { mx = max(mx, row[j]); j += 1 }
        var sum16 = SIMD16<Float>()
        j = 0
        let m = SIMD16<Float>(repeating: mx)
        while j + 16 <= len {
            let e = exp16(load16(row + j) - m)
            store16(e, row + j)
            sum16 += e
            j += 16
        }
        var sum = sum16.sum()
        while j < len { row[j] = expf(row[j] - mx); sum += row[j]; j += 1 }
        maxes[g] = mx
        sums[g] = sum
    }
}

/// o[g · d ..< (g+1) · d] += Σ_i p[g · ldP + i] · v_i for g < group; value i at `v + i · vStride`. Heads in fours
/// on the C kernel, as `groupScores`.
func groupAccumulate(p: UnsafePointer<Float>, ldP: Int, group: Int, d: Int, v: UnsafePointer<Float>, vStride: Int,
                     len: Int, o: UnsafeMutablePointer<Float>) {
    var g = 0
    while g + 4 <= group, qk_attn_accumulate4(p + g * ldP, ldP, d, v, vStride, len, o + g * d) != 0 { g += 4 }
    while g < group {
        for i in 0..<len { axpy(p[g * ldP + i], v + i * vStride, o + g * d, d) }
        g += 1
    }
}

// MARK: - Plain twins

func groupScoresReference(q: UnsafePointer<Float>, group: Int, d: Int, k: UnsafePointer<Float>, kStride: Int, len: Int,
                          scale: Float, s: UnsafeMutablePointer<Float>, ldS: Int) {
    for g in 0..<group {
        for i in 0..<len {
            var acc: Float = 0
            for c in 0..<d { acc += q[g * d + c] * k[i * kStride + c] }
            s[g * ldS + i] = acc * scale
        }
    }
}

func groupSoftmaxReference(s: UnsafeMutablePointer<Float>, ldS: Int, group: Int, len: Int,
                           maxes: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
    for g in 0..<group {
        let row = s + g * ldS
        var mx = -Float.infinity
        for j in 0..<len { mx = max(mx, row[j]) }
        var sum: Float = 0
        for j in 0..<len { row[j] = expf(row[j] - mx); sum += row[j] }
        maxes[g] = mx
        sums[g] = sum
    }
}

func groupAccumulateReference(p: UnsafePointer<Float>, ldP: Int, group: Int, d: Int, v: UnsafePointer<Float>,
                              vStride: Int, len: Int, o: UnsafeMutablePointer<Float>) {
    for g in 0..<group {
        for i in 0..<len {
            for c in 0..<d { o[g * d + c] += p[g * ldP + i] * v[i * vStride + c] }
        }
    }
}
