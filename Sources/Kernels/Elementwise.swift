import Foundation

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

/// out[i] = SiLU(gate[i]) · up[i] — the SwiGLU product (reference: `act_fn(gate_proj(x)) * up_proj(x)`).
public func siluMul(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { out[i] = silu(gate[i]) * up[i] }
}
