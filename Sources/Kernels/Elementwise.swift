import Foundation
import TensorCore

// Small vector helpers shared by the blocks. SIMD16 bodies with scalar tails; they compile to AVX-512
// under the release target CPU and to narrower vectors elsewhere.

/// SiLU(x) = x · σ(x), in f32 (torch `F.silu`).
@inline(__always)
public func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

/// σ(x) = 1 / (1 + e^(−x)), in f32 (torch `sigmoid`).
@inline(__always)
public func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// Σ a[i]·b[i] over `n` elements, f32 accumulation.
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var i = 0
    var acc = SIMD16<Float>(repeating: 0)
    while i + 16 <= n {
        let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
        let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
        acc.addProduct(va, vb)
        i += 16
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// y[i] += α·x[i] over `n` elements.
@inline(__always)
public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    let va = SIMD16<Float>(repeating: alpha)
    while i + 16 <= n {
        let vx = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
        var vy = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
        vy.addProduct(va, vx)
        UnsafeMutableRawPointer(y + i).storeBytes(of: vy, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n { y[i] += alpha * x[i]; i += 1 }
}

// MARK: - Vectorised exp and the activations built on it

/// e^x for 16 lanes: Cody–Waite reduction `x = n·ln2 + r` and Cephes' degree-6 polynomial for e^r, scaled by
/// 2^n through the exponent bits; within 2 ulp of `expf` (the scalar twin; ActivationTests pins them). Inputs
/// are clamped to [−87.3, 88.3], where results stay finite and normal (beyond it `expf` is 0, a denormal or
/// inf, which SiLU and σ below turn into the same values).
@inline(__always)
public func exp16(_ input: SIMD16<Float>) -> SIMD16<Float> {
    // A NaN lane stays NaN, as in expf: the clamp below would otherwise turn a blown-up activation into a
    // plausible finite number.
    exp16Clamped(input).replacing(with: input, where: input .!= input)
}

@inline(__always)
func exp16Clamped(_ x: SIMD16<Float>) -> SIMD16<Float> {
    // Only plain float/integer lane arithmetic and bit casts: the generic SIMD conversions (`rounded`,
    // `clamped`, Int32(Float) lanes) are not lowered to vector instructions and cost 10× the whole function.
    let x = pointwiseMax(pointwiseMin(x, SIMD16(repeating: 88.3)), SIMD16(repeating: -87.3))
    // n = round-to-nearest-even(x·log2 e) by the 1.5·2^23 shift; its integer sits in the low mantissa bits.
    let magic = SIMD16<Float>(repeating: 12_582_912)
    let shifted = x * 1.442_695_04 + magic
    let n = shifted - magic
    let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4      // ln 2 split so n·ln2_hi is exact
    var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let y = p * r * r + r + 1
    let ni = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000            // n as an integer
    let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD16<Float>.self)             // 2^n
    return y * scale
}

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}
@inline(__always) func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// SiLU on 16 lanes (`x · σ(x)`), the vector twin of `silu`.
@inline(__always)
public func silu16(_ x: SIMD16<Float>) -> SIMD16<Float> { x / (1 + exp16(-x)) }

/// σ on 16 lanes, the vector twin of `sigmoid`.
@inline(__always)
public func sigmoid16(_ x: SIMD16<Float>) -> SIMD16<Float> { 1 / (1 + exp16(-x)) }

/// out[i] = SiLU(gate[i]) · up[i] — the SwiGLU product (reference: `act_fn(gate_proj(x)) * up_proj(x)`).
/// Vectorised; `siluMulReference` is its plain twin. `out` may be `gate` (each element is read before written).
public func siluMul(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i + 16 <= n {
        store16(silu16(load16(gate + i)) * load16(up + i), out + i)
        i += 16
    }
    while i < n { out[i] = silu(gate[i]) * up[i]; i += 1 }
}

public func siluMulReference(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { out[i] = silu(gate[i]) * up[i] }
}

/// x[i] *= σ(gate[i]) — the attention output gate (`attn_output * torch.sigmoid(gate)`), vectorised.
public func mulSigmoid(_ x: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 16 <= n {
        store16(load16(x + i) * sigmoid16(load16(gate + i)), x + i)
        i += 16
    }
    while i < n { x[i] *= sigmoid(gate[i]); i += 1 }
}

/// Runs `body(start, end)` over `0..<count` cut into ranges of whole `unit`s, spread over the pool: the
/// elementwise steps between matmuls are cheap per element but add up at prefill sizes. `work` (default
/// `count`) is the element count that decides whether splitting pays (a decode step stays on one thread).
public func parallelRanges(_ count: Int, unit: Int = 1, work: Int? = nil, pool: ThreadPool, _ body: (Int, Int) -> Void) {
    guard count > 0 else { return }
    let units = (count + unit - 1) / unit
    let items = (work ?? count) < 32_768 ? 1 : min(units, pool.threadCount * 4)
    let perItem = (units + items - 1) / items * unit
    pool.parallelFor((count + perItem - 1) / perItem) { item in
        body(item * perItem, min(count, (item + 1) * perItem))
    }
}
