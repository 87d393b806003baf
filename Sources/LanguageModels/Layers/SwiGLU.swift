import Kernels
import SafeTensors
import TensorCore

/// Dense gated MLP (ARCHITECTURE.md §3.5): `down · (SiLU(gate · f) ⊙ (up · f))`, no biases. Also the shape
/// of the MoE shared expert.
public struct SwiGLU: Sendable {
    let gate: WeightTensor   // [I, H]
    let up: WeightTensor     // [I, H]
    let down: WeightTensor   // [H, I]

    /// `prefix` ends with `mlp.` or `shared_expert.`.
    public init(store: any WeightSource, prefix: String, hidden: Int, intermediate: Int) throws {
        gate = try store.take(prefix + "gate_proj.weight", shape: [intermediate, hidden])
        up = try store.take(prefix + "up_proj.weight", shape: [intermediate, hidden])
        down = try store.take(prefix + "down_proj.weight", shape: [hidden, intermediate])
    }

    /// `f`: `[T, H]` → `[T, H]`.
    public func callAsFunction(_ f: [Float], tokens: Int, rowwise: Bool = false, pool: ThreadPool = .shared) -> [Float] {
        var h = matmul(f, gate, tokens: tokens, rowwise: rowwise, pool: pool)   // [T, I] gate, then SiLU(gate) · up in place
        let u = matmul(f, up, tokens: tokens, rowwise: rowwise, pool: pool)     // [T, I]
        h.withUnsafeMutableBufferPointer { hp in u.withUnsafeBufferPointer { up in
            let (hb, ub) = (hp.baseAddress!, up.baseAddress!)
            parallelRanges(hp.count, unit: 16, pool: pool) { s, e in siluMul(hb + s, ub + s, hb + s, e - s) }
        } }
        return matmul(h, down, tokens: tokens, rowwise: rowwise, pool: pool)    // [T, H]
    }
}
