import Kernels
import SafeTensors
import TensorCore

/// Zero-centred RMSNorm with a checkpoint weight `w` (ARCHITECTURE.md §3.1): scale `1 + w`, in f32.
/// Used for input/post-attention/final norms and per-head q/k norms.
public struct RMSNorm: Sendable {
    let onePlusWeight: [Float]   // [dim]
    public let eps: Float
    public var dim: Int { onePlusWeight.count }

    public init(store: any WeightSource, name: String, dim: Int, eps: Float) throws {
        onePlusWeight = try store.take(name, shape: [dim]).toFloats().map { 1 + $0 }
        self.eps = eps
    }

    /// Normalises each `dim`-long row of `x` in place (`x`: `[rows, dim]`).
    public func apply(_ x: inout [Float]) {
        precondition(x.count % dim == 0, "RMSNorm: \(x.count) values are not rows of \(dim)")
        let rows = x.count / dim
        onePlusWeight.withUnsafeBufferPointer { w in
            x.withUnsafeMutableBufferPointer { xp in
                rmsNormZeroCentred(xp.baseAddress!, onePlusWeight: w.baseAddress!, xp.baseAddress!, rows: rows, dim: dim, eps: eps)
            }
        }
    }

    public func callAsFunction(_ x: [Float]) -> [Float] {
        var y = x
        apply(&y)
        return y
    }
}
