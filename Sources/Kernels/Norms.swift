import Foundation

/// Zero-centred RMSNorm (ARCHITECTURE.md §3.1, transformers `Qwen3_5RMSNorm`):
/// `y = x / sqrt(mean(x²) + eps) * (1 + w)`, statistics in f32. `onePlusWeight` holds `1 + w` already
/// widened to f32 (the reference adds 1 in f32 too: `(1.0 + self.weight.float())`).
/// Rows of `dim` elements; `x` and `y` may alias.
public func rmsNormZeroCentred(
    _ x: UnsafePointer<Float>,             // [rows, dim]
    onePlusWeight: UnsafePointer<Float>,   // [dim]
    _ y: UnsafeMutablePointer<Float>,      // [rows, dim]
    rows: Int, dim: Int, eps: Float
) {
    for r in 0..<rows {
        let xr = x + r * dim, yr = y + r * dim
        let ms = dot(xr, xr, dim) / Float(dim)
        let inv = 1 / (ms + eps).squareRoot()
        for i in 0..<dim { yr[i] = (xr[i] * inv) * onePlusWeight[i] }
    }
}

/// Plain reference twin of `rmsNormZeroCentred` (scalar loops, Double-free, same operation order as torch:
/// `x * rsqrt(mean(x²) + eps)` then `* (1 + w)`).
public func rmsNormZeroCentredReference(_ x: [Float], onePlusWeight: [Float], rows: Int, dim: Int, eps: Float) -> [Float] {
    var y = [Float](repeating: 0, count: rows * dim)
    for r in 0..<rows {
        var ss: Float = 0
        for i in 0..<dim { ss += x[r * dim + i] * x[r * dim + i] }
        let inv = 1 / (ss / Float(dim) + eps).squareRoot()
        for i in 0..<dim { y[r * dim + i] = x[r * dim + i] * inv * onePlusWeight[i] }
    }
    return y
}
