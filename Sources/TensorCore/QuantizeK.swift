// K-quant reference quantisers (256-element super-blocks), ported from ggml-quants.c: `quantize_row_q4_K_ref`,
// `quantize_row_q5_K_ref` (one function here: they differ only in 15 vs 31 levels, the search range and the
// packing of the fifth bit) and `quantize_row_q6_K_ref`, with their helpers `make_qkx2_quants` (scale + min,
// weighted least squares over a grid of candidate scales) and `make_qx_quants` (symmetric, rmse_type 1).

/// ggml `GROUP_MAX_EPS`: a group whose largest magnitude is below this quantises to all zeros.
private let groupMaxEps: Float = 1e-15

/// ggml `nearest_int`: round half to even via the 1.5·2²³ trick (|v| ≤ 4194303).
@inline(__always) func nearestInt(_ v: Float) -> Int {
    let bits = Int32(bitPattern: (v + 12582912).bitPattern)
    return Int((bits & 0x007f_ffff) - 0x0040_0000)
}

/// ggml `make_qkx2_quants`: levels L ∈ [0, nmax] with x ≈ scale·L − theMin, the scale chosen among
/// (nmax + rmin + rdelta·is) / (max − min) for is in 0...nstep by weighted squared error. Returns the scale.
private func makeQKX2Quants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                            _ L: UnsafeMutablePointer<UInt8>, _ theMin: inout Float, _ Laux: UnsafeMutablePointer<UInt8>,
                            rmin: Float, rdelta: Float, nstep: Int) -> Float {
    var lo = x[0], hi = x[0]
    var sumW = weights[0], sumX = sumW * x[0]
    for i in 1..<n {
        if x[i] < lo { lo = x[i] }
        if x[i] > hi { hi = x[i] }
        let w = weights[i]
        sumW += w
        sumX += w * x[i]
    }
    if lo > 0 { lo = 0 }
    if hi == lo {
        for i in 0..<n { L[i] = 0 }
        theMin = -lo
        return 0
    }
    var iscale = Float(nmax) / (hi - lo)
    var scale = 1 / iscale
    var bestError: Float = 0
    for i in 0..<n {
        let l = nearestInt(iscale * (x[i] - lo))
        L[i] = UInt8(max(0, min(nmax, l)))
        let diff = scale * Float(L[i]) + lo - x[i]
        bestError += weights[i] * (diff * diff)
    }
    for step in 0...nstep {
        iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (hi - lo)
        var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
        for i in 0..<n {
            let l = max(0, min(nmax, nearestInt(iscale * (x[i] - lo))))
            Laux[i] = UInt8(l)
            let w = weights[i], fl = Float(l)
            sumL += w * fl
            sumL2 += w * fl * fl
            sumXL += w * fl * x[i]
        }
        let D = sumW * sumL2 - sumL * sumL
        guard D > 0 else { continue }
        var thisScale = (sumW * sumXL - sumX * sumL) / D
        var thisMin = (sumL2 * sumX - sumL * sumXL) / D
        if thisMin > 0 {
            thisMin = 0
            thisScale = sumXL / sumL2
        }
        var error: Float = 0
        for i in 0..<n {
            let diff = thisScale * Float(Laux[i]) + thisMin - x[i]
            error += weights[i] * (diff * diff)
        }
        if error < bestError {
            for i in 0..<n { L[i] = Laux[i] }
            bestError = error
            scale = thisScale
            lo = thisMin
        }
    }
    theMin = -lo
    return scale
}

/// ggml `make_qx_quants` with `rmse_type` 1 and no importance weights (what `quantize_row_q6_K_ref` uses):
/// symmetric levels L + nmax ∈ [0, 2·nmax), weighted by x², the best of 19 candidate scales. Returns the scale.
private func makeQXQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
    var m: Float = 0, amax: Float = 0
    for i in 0..<n where abs(x[i]) > amax { amax = abs(x[i]); m = x[i] }
    if amax < groupMaxEps {
        for i in 0..<n { L[i] = 0 }
        return 0
    }
    let fmax = Float(nmax)
    var iscale = -fmax / m
    var sumLX: Float = 0, sumL2: Float = 0
    for i in 0..<n {
        let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
        L[i] = Int8(l + nmax)
        let w = x[i] * x[i], fl = Float(l)
        sumLX += w * x[i] * fl
        sumL2 += w * fl * fl
    }
    var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
    var best = scale * sumLX
    for step in -9...9 where step != 0 {
        iscale = -(fmax + 0.1 * Float(step)) / m
        sumLX = 0
        sumL2 = 0
        for i in 0..<n {
            let fl = Float(max(-nmax, min(nmax - 1, nearestInt(iscale * x[i]))))
            let w = x[i] * x[i]
            sumLX += w * x[i] * fl
            sumL2 += w * fl * fl
        }
        if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
            for i in 0..<n { L[i] = Int8(nmax + max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))) }
            scale = sumLX / sumL2
            best = scale * sumLX
        }
    }
    return scale
}

/// ggml `get_scale_min_k4`: the j-th 6-bit scale and min of a Q4_K / Q5_K block's 12 packed bytes.
@inline(__always) private func scaleMinK4(_ j: Int, _ q: UnsafeMutableRawPointer) -> (Int, Int) {
    func b(_ i: Int) -> Int { Int(q.load(fromByteOffset: i, as: UInt8.self)) }
    if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
    return ((b(j + 4) & 0xF) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
}

/// One Q4_K block {d, dmin f16; scales[12]; qs[128]} or Q5_K block {d, dmin; scales[12]; qh[32]; qs[128]}.
func quantizeQ45_KBlock(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, fiveBits: Bool) {
    let nmax = fiveBits ? 31 : 15
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 48) { f in
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32) { bytes in
            let weights = f.baseAddress!, scales = weights + 32, mins = weights + 40
            let L = bytes.baseAddress!, Laux = L + 256
            var maxScale: Float = 0, maxMin: Float = 0
            for j in 0..<8 {
                let xj = x + 32 * j
                var sumX2: Float = 0
                for l in 0..<32 { sumX2 += xj[l] * xj[l] }
                let avX = (sumX2 / 32).squareRoot()
                for l in 0..<32 { weights[l] = avX + abs(xj[l]) }
                var m: Float = 0
                scales[j] = makeQKX2Quants(32, nmax, xj, weights, L + 32 * j, &m, Laux,
                                           rmin: fiveBits ? -0.5 : -1, rdelta: 0.1, nstep: fiveBits ? 15 : 20)
                mins[j] = m
                if scales[j] > maxScale { maxScale = scales[j] }
                if m > maxMin { maxMin = m }
            }
            let invScale: Float = maxScale > 0 ? 63 / maxScale : 0, invMin: Float = maxMin > 0 ? 63 / maxMin : 0
            let sc = y + 4
            for i in 0..<12 { sc.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
            func or(_ i: Int, _ v: Int) {
                sc.storeBytes(of: sc.load(fromByteOffset: i, as: UInt8.self) | UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self)
            }
            for j in 0..<8 {
                // C stores nearest_int into a uint8_t before MIN(63, ·): the same truncation to 8 bits.
                let ls = min(63, Int(UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j]))))
                let lm = min(63, Int(UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j]))))
                if j < 4 {
                    or(j, ls); or(j + 4, lm)
                } else {
                    or(j + 4, (ls & 0xF) | ((lm & 0xF) << 4))
                    or(j - 4, (ls >> 4) << 6)
                    or(j, (lm >> 4) << 6)
                }
            }
            storeF16(maxScale / 63, y, 0)
            storeF16(maxMin / 63, y, 2)
            let d16 = f16At(y, 0), dmin16 = f16At(y, 2)
            for j in 0..<8 {
                let (s, m) = scaleMinK4(j, sc)
                let d = d16 * Float(s)
                if d == 0 { continue }
                let dm = dmin16 * Float(m)
                for i in 0..<32 { L[32 * j + i] = UInt8(max(0, min(nmax, nearestInt((x[32 * j + i] + dm) / d)))) }
            }
            if fiveBits {
                let qh = y + 16, ql = y + 48
                for i in 0..<32 { qh.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
                var m1: UInt8 = 1, m2: UInt8 = 2
                for n in stride(from: 0, to: 256, by: 64) {
                    for j in 0..<32 {
                        var l1 = L[n + j], l2 = L[n + j + 32], h = qh.load(fromByteOffset: j, as: UInt8.self)
                        if l1 > 15 { l1 -= 16; h |= m1 }
                        if l2 > 15 { l2 -= 16; h |= m2 }
                        qh.storeBytes(of: h, toByteOffset: j, as: UInt8.self)
                        ql.storeBytes(of: l1 | l2 << 4, toByteOffset: n / 2 + j, as: UInt8.self)
                    }
                    m1 <<= 2; m2 <<= 2
                }
            } else {
                let q = y + 16
                for n in stride(from: 0, to: 256, by: 64) {
                    for l in 0..<32 { q.storeBytes(of: L[n + l] | L[n + l + 32] << 4, toByteOffset: n / 2 + l, as: UInt8.self) }
                }
            }
        }
    }
}

/// One Q6_K block {ql[128]; qh[64]; scales[16] int8; d f16}.
func quantizeQ6_KBlock(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { lb in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scales in
            let L = lb.baseAddress!
            var maxScale: Float = 0, maxAbsScale: Float = 0
            for ib in 0..<16 {
                let s = makeQXQuants(16, 32, x + 16 * ib, L + 16 * ib)
                scales[ib] = s
                if abs(s) > maxAbsScale { maxAbsScale = abs(s); maxScale = s }
            }
            if maxAbsScale < groupMaxEps {
                for i in 0..<210 { y.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
                return
            }
            let iscale = -128 / maxScale
            storeF16(1 / iscale, y, 208)
            for ib in 0..<16 { y.storeBytes(of: Int8(min(127, nearestInt(iscale * scales[ib]))), toByteOffset: 192 + ib, as: Int8.self) }
            let d16 = f16At(y, 208)
            for j in 0..<16 {
                let d = d16 * Float(y.load(fromByteOffset: 192 + j, as: Int8.self))
                if d == 0 { continue }
                for i in 0..<16 { L[16 * j + i] = Int8(max(-32, min(31, nearestInt(x[16 * j + i] / d))) + 32) }
            }
            for half in 0..<2 {
                let j = 128 * half, ql = y + 64 * half, qh = y + 128 + 32 * half
                for l in 0..<32 {
                    let q1 = UInt8(L[j + l]), q2 = UInt8(L[j + l + 32]), q3 = UInt8(L[j + l + 64]), q4 = UInt8(L[j + l + 96])
                    ql.storeBytes(of: (q1 & 0xF) | (q3 & 0xF) << 4, toByteOffset: l, as: UInt8.self)
                    ql.storeBytes(of: (q2 & 0xF) | (q4 & 0xF) << 4, toByteOffset: l + 32, as: UInt8.self)
                    qh.storeBytes(of: (q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6, toByteOffset: l, as: UInt8.self)
                }
            }
        }
    }
}

@inline(__always) private func f16At(_ p: UnsafeMutableRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.load(fromByteOffset: offset, as: UInt16.self)))
}

@inline(__always) func storeF16(_ v: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
    p.storeBytes(of: Float16(v).bitPattern, toByteOffset: offset, as: UInt16.self)
}
