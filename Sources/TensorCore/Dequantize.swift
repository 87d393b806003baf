// Plain dequantisation of every `WeightFormat`: the reference twins of the quantised kernels, ported
// block by block from ggml's `dequantize_row_*` (ggml/src/ggml-quants.c) and pinned to gguf-py's
// `gguf.quants.dequantize` by `Tests/Fixtures/gguf`. Readable, not fast: kernels never call these in a hot loop.

/// `kvalues_iq4nl`: the 16 non-uniform levels shared by IQ4_NL and IQ4_XS.
let iq4nlValues: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

/// Dequantises `count` consecutive elements starting at a block boundary of `src` into `dst`.
/// `count` must be a multiple of `format.blockElements`.
public func dequantize(_ format: WeightFormat, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    precondition(count % format.blockElements == 0, "dequantize \(format): \(count) is not a whole number of blocks")
    let blocks = count / format.blockElements
    for b in 0..<blocks {
        let x = src + b * format.blockBytes
        let y = dst + b * format.blockElements
        switch format {
        case .f32: y[0] = x.loadUnaligned(as: Float.self)
        case .f16: y[0] = f16ToFloat(x.loadUnaligned(as: UInt16.self))
        case .bf16: y[0] = bf16ToFloat(x.loadUnaligned(as: UInt16.self))
        case .i64: y[0] = Float(x.loadUnaligned(as: Int64.self))
        case .q4_0: dequantQ4_0(x, y)
        case .q4_1: dequantQ4_1(x, y)
        case .q5_0: dequantQ5(x, y, hasMin: false)
        case .q5_1: dequantQ5(x, y, hasMin: true)
        case .q8_0: dequantQ8_0(x, y)
        case .q2_K: dequantQ2_K(x, y)
        case .q3_K: dequantQ3_K(x, y)
        case .q4_K: dequantQ4_K(x, y)
        case .q5_K: dequantQ5_K(x, y)
        case .q6_K: dequantQ6_K(x, y)
        case .iq4_nl: dequantIQ4_NL(x, y)
        case .iq4_xs: dequantIQ4_XS(x, y)
        }
    }
}

@inline(__always) private func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    f16ToFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}
@inline(__always) private func u8(_ p: UnsafeRawPointer, _ offset: Int) -> Int {
    Int(p.load(fromByteOffset: offset, as: UInt8.self))
}
@inline(__always) private func i8(_ p: UnsafeRawPointer, _ offset: Int) -> Int {
    Int(p.load(fromByteOffset: offset, as: Int8.self))
}

// MARK: - 32-element blocks

private func dequantQ4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = f16(x, 0)
    for j in 0..<16 {
        let q = u8(x, 2 + j)
        y[j] = Float((q & 0xF) - 8) * d
        y[j + 16] = Float((q >> 4) - 8) * d
    }
}

private func dequantQ4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = f16(x, 0), m = f16(x, 2)
    for j in 0..<16 {
        let q = u8(x, 4 + j)
        y[j] = Float(q & 0xF) * d + m
        y[j + 16] = Float(q >> 4) * d + m
    }
}

/// Q5_0 (`d, qh[4], qs[16]`, offset −16) and Q5_1 (`d, m, qh[4], qs[16]`, plus m).
private func dequantQ5(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, hasMin: Bool) {
    let d = f16(x, 0), m: Float = hasMin ? f16(x, 2) : 0
    let base = hasMin ? 4 : 2
    let qh = Int(x.loadUnaligned(fromByteOffset: base, as: UInt32.self).littleEndian)
    for j in 0..<16 {
        let q = u8(x, base + 4 + j)
        let h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10
        if hasMin {
            y[j] = Float((q & 0xF) | h0) * d + m
            y[j + 16] = Float((q >> 4) | h1) * d + m
        } else {
            y[j] = Float(((q & 0xF) | h0) - 16) * d
            y[j + 16] = Float(((q >> 4) | h1) - 16) * d
        }
    }
}

private func dequantQ8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = f16(x, 0)
    for j in 0..<32 { y[j] = Float(i8(x, 2 + j)) * d }
}

private func dequantIQ4_NL(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = f16(x, 0)
    for j in 0..<16 {
        let q = u8(x, 2 + j)
        y[j] = d * Float(iq4nlValues[q & 0xF])
        y[j + 16] = d * Float(iq4nlValues[q >> 4])
    }
}

// MARK: - 256-element k-quant blocks

private func dequantQ2_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    // scales[16] @0, qs[64] @16, d @80, dmin @82
    let d = f16(x, 80), dmin = f16(x, 82)
    var out = 0, scale = 0
    for half in 0..<2 {
        let q = 16 + half * 32
        for shift in stride(from: 0, to: 8, by: 2) {
            for part in 0..<2 {
                let sc = u8(x, scale); scale += 1
                let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                for l in 0..<16 {
                    y[out] = dl * Float((u8(x, q + part * 16 + l) >> shift) & 3) - ml
                    out += 1
                }
            }
        }
    }
}

private func dequantQ3_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    // hmask[32] @0, qs[64] @32, scales[12] @96, d @108
    let d = f16(x, 108)
    // Unpack the 16 six-bit scales (ggml's kmask1/kmask2 shuffle).
    var aux = (0..<3).map { x.loadUnaligned(fromByteOffset: 96 + 4 * $0, as: UInt32.self).littleEndian }
    let tmp = aux[2], k1: UInt32 = 0x0303_0303, k2: UInt32 = 0x0F0F_0F0F
    aux.append(0)
    aux[2] = ((aux[0] >> 4) & k2) | (((tmp >> 4) & k1) << 4)
    aux[3] = ((aux[1] >> 4) & k2) | (((tmp >> 6) & k1) << 4)
    aux[0] = (aux[0] & k2) | (((tmp >> 0) & k1) << 4)
    aux[1] = (aux[1] & k2) | (((tmp >> 2) & k1) << 4)
    let scales = (0..<16).map { Int(Int8(bitPattern: UInt8(truncatingIfNeeded: aux[$0 / 4] >> (8 * UInt32($0 % 4))))) }
    var out = 0, s = 0, mask = 1
    for half in 0..<2 {
        let q = 32 + half * 32
        for shift in stride(from: 0, to: 8, by: 2) {
            for part in 0..<2 {
                let dl = d * Float(scales[s] - 32); s += 1
                for l in 0..<16 {
                    let lo = (u8(x, q + part * 16 + l) >> shift) & 3
                    let high = u8(x, part * 16 + l) & mask != 0 ? 0 : 4
                    y[out] = dl * Float(lo - high)
                    out += 1
                }
            }
            mask <<= 1
        }
    }
}

/// ggml's `get_scale_min_k4`: the j-th 6-bit (scale, min) pair of a Q4_K/Q5_K block's 12 scale bytes at `at`.
@inline(__always) private func scaleMinK4(_ j: Int, _ x: UnsafeRawPointer, at: Int) -> (Float, Float) {
    if j < 4 { return (Float(u8(x, at + j) & 63), Float(u8(x, at + j + 4) & 63)) }
    let sc = (u8(x, at + j + 4) & 0xF) | ((u8(x, at + j - 4) >> 6) << 4)
    let m = (u8(x, at + j + 4) >> 4) | ((u8(x, at + j) >> 6) << 4)
    return (Float(sc), Float(m))
}

private func dequantQ4_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    // d @0, dmin @2, scales[12] @4, qs[128] @16
    let d = f16(x, 0), dmin = f16(x, 2)
    for g in 0..<4 {
        let (s1, m1) = scaleMinK4(2 * g, x, at: 4), (s2, m2) = scaleMinK4(2 * g + 1, x, at: 4)
        let d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2
        for l in 0..<32 {
            let q = u8(x, 16 + 32 * g + l)
            y[64 * g + l] = d1 * Float(q & 0xF) - mm1
            y[64 * g + 32 + l] = d2 * Float(q >> 4) - mm2
        }
    }
}

private func dequantQ5_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    // d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
    let d = f16(x, 0), dmin = f16(x, 2)
    for g in 0..<4 {
        let (s1, m1) = scaleMinK4(2 * g, x, at: 4), (s2, m2) = scaleMinK4(2 * g + 1, x, at: 4)
        let d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2
        let u1 = 1 << (2 * g), u2 = 2 << (2 * g)
        for l in 0..<32 {
            let q = u8(x, 48 + 32 * g + l), h = u8(x, 16 + l)
            y[64 * g + l] = d1 * Float((q & 0xF) + (h & u1 != 0 ? 16 : 0)) - mm1
            y[64 * g + 32 + l] = d2 * Float((q >> 4) + (h & u2 != 0 ? 16 : 0)) - mm2
        }
    }
}

private func dequantQ6_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    // ql[128] @0, qh[64] @128, scales[16] @192 (int8), d @208
    let d = f16(x, 208)
    for half in 0..<2 {
        let ql = 64 * half, qh = 128 + 32 * half, sc = 192 + 8 * half, o = 128 * half
        for l in 0..<32 {
            let s = l / 16, h = u8(x, qh + l)
            let q1 = ((u8(x, ql + l) & 0xF) | ((h & 3) << 4)) - 32
            let q2 = ((u8(x, ql + l + 32) & 0xF) | (((h >> 2) & 3) << 4)) - 32
            let q3 = ((u8(x, ql + l) >> 4) | (((h >> 4) & 3) << 4)) - 32
            let q4 = ((u8(x, ql + l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32
            y[o + l] = d * Float(i8(x, sc + s)) * Float(q1)
            y[o + l + 32] = d * Float(i8(x, sc + s + 2)) * Float(q2)
            y[o + l + 64] = d * Float(i8(x, sc + s + 4)) * Float(q3)
            y[o + l + 96] = d * Float(i8(x, sc + s + 6)) * Float(q4)
        }
    }
}

private func dequantIQ4_XS(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    // d @0, scales_h u16 @2, scales_l[4] @4, qs[128] @8
    let d = f16(x, 0)
    let scalesH = Int(x.loadUnaligned(fromByteOffset: 2, as: UInt16.self).littleEndian)
    for ib in 0..<8 {
        let ls = ((u8(x, 4 + ib / 2) >> (4 * (ib % 2))) & 0xF) | (((scalesH >> (2 * ib)) & 3) << 4)
        let dl = d * Float(ls - 32)
        for j in 0..<16 {
            let q = u8(x, 8 + 16 * ib + j)
            y[32 * ib + j] = dl * Float(iq4nlValues[q & 0xF])
            y[32 * ib + j + 16] = dl * Float(iq4nlValues[q >> 4])
        }
    }
}
