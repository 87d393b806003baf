import Foundation
import TensorCore

// MARK: - Gated DeltaNet: gates, L2 norm, gated RMSNorm (ARCHITECTURE.md §3.1, §3.2 steps 4, 5, 8)

/// PyTorch's `softplus` (β = 1, threshold 20): `x` when `x > 20`, else `log(1 + exp(x))`.
@inline(__always)
public func gdnSoftplus(_ x: Float) -> Float {
    x > 20 ? x : log1p(exp(x))
}

/// Per-token, per-value-head gates: `β = sigmoid(b)`, `g = −exp(A_log) · softplus(a + dt_bias)` in f32
/// [HF `beta = b.sigmoid()`, `g = -self.A_log.float().exp() * F.softplus(a.float() + self.dt_bias)`].
public func gdnGates(
    a: UnsafePointer<Float>,             // [T, Hv]
    b: UnsafePointer<Float>,             // [T, Hv]
    aLog: UnsafePointer<Float>,          // [Hv]
    dtBias: UnsafePointer<Float>,        // [Hv]
    g: UnsafeMutablePointer<Float>,      // [T, Hv]
    beta: UnsafeMutablePointer<Float>,   // [T, Hv]
    tokens: Int, heads: Int
) {
    precondition(tokens >= 0 && heads > 0, "gdnGates: bad sizes T=\(tokens) Hv=\(heads)")
    for t in 0..<tokens {
        for h in 0..<heads {
            let i = t * heads + h
            beta[i] = 1 / (1 + exp(-b[i]))
            g[i] = -exp(aLog[h]) * gdnSoftplus(a[i] + dtBias[h])
        }
    }
}

/// In-place L2 normalisation of `count` vectors of length `dim` spaced `stride` apart, then a scale:
/// `x ← x / sqrt(Σ x² + 1e-6) · scale` [HF `l2norm`: `x * rsqrt((x*x).sum(-1) + 1e-6)`; FLA same eps].
public func gdnL2Normalize(_ x: UnsafeMutablePointer<Float>, count: Int, dim: Int, stride: Int, scale: Float = 1) {
    precondition(dim > 0 && stride >= dim, "gdnL2Normalize: dim \(dim), stride \(stride)")
    for i in 0..<count {
        let v = x + i * stride
        var ss: Float = 0
        for d in 0..<dim { ss += v[d] * v[d] }
        let r = 1 / (ss + 1e-6).squareRoot() * scale
        for d in 0..<dim { v[d] *= r }
    }
}

/// Gated RMSNorm over each `dim`-vector (one per token and value head), norm before gate:
/// `y = o / sqrt(mean(o²) + eps) · w · SiLU(z)` with the plain weight (no +1) [HF `Qwen3_5RMSNormGated`].
public func gdnGatedRMSNorm(
    _ o: UnsafePointer<Float>,            // [rows, dim]
    gate z: UnsafePointer<Float>,         // [rows, dim]
    weight w: UnsafePointer<Float>,       // [dim]
    _ y: UnsafeMutablePointer<Float>,     // [rows, dim]
    rows: Int, dim: Int, eps: Float, pool: ThreadPool = .shared
) {
    precondition(rows >= 0 && dim > 0, "gdnGatedRMSNorm: bad sizes rows=\(rows) dim=\(dim)")
    // Vectorised (SiLU through exp16) and spread over the pool by rows; the plain twin is below.
    parallelRanges(rows * dim, unit: dim, pool: pool) { start, end in
        for r in start / dim ..< end / dim {
            let ov = o + r * dim, zv = z + r * dim, yv = y + r * dim
            let inv = 1 / (dot(ov, ov, dim) / Float(dim) + eps).squareRoot()
            var d = 0
            while d + 16 <= dim {
                store16(load16(w + d) * (load16(ov + d) * inv) * silu16(load16(zv + d)), yv + d)
                d += 16
            }
            while d < dim { yv[d] = (w[d] * (ov[d] * inv)) * silu(zv[d]); d += 1 }
        }
    }
}

/// Plain twin of `gdnGatedRMSNorm`.
public func gdnGatedRMSNormReference(
    _ o: UnsafePointer<Float>,            // [rows, dim]
    gate z: UnsafePointer<Float>,         // [rows, dim]
    weight w: UnsafePointer<Float>,       // [dim]
    _ y: UnsafeMutablePointer<Float>,     // [rows, dim]
    rows: Int, dim: Int, eps: Float
) {
    precondition(rows >= 0 && dim > 0, "gdnGatedRMSNorm: bad sizes rows=\(rows) dim=\(dim)")
    for r in 0..<rows {
        let ov = o + r * dim, zv = z + r * dim, yv = y + r * dim
        var ss: Float = 0
        for d in 0..<dim { ss += ov[d] * ov[d] }
        let inv = 1 / (ss / Float(dim) + eps).squareRoot()
        for d in 0..<dim {
            let silu = zv[d] / (1 + exp(-zv[d]))
            yv[d] = (w[d] * (ov[d] * inv)) * silu
        }
    }
}
