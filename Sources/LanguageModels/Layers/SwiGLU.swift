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
    public init(store: WeightStore, prefix: String, hidden: Int, intermediate: Int) throws {
        gate = try store.take(prefix + "gate_proj.weight", shape: [intermediate, hidden])
        up = try store.take(prefix + "up_proj.weight", shape: [intermediate, hidden])
        down = try store.take(prefix + "down_proj.weight", shape: [hidden, intermediate])
    }

    /// `f`: `[T, H]` → `[T, H]`.
    public func callAsFunction(_ f: [Float], tokens: Int, pool: ThreadPool = .shared) -> [Float] {
        let g = matmul(f, gate, tokens: tokens, pool: pool)   // [T, I]
        let u = matmul(f, up, tokens: tokens, pool: pool)     // [T, I]
        var h = [Float](repeating: 0, count: g.count)         // [T, I]
        g.withUnsafeBufferPointer { gp in u.withUnsafeBufferPointer { up in h.withUnsafeMutableBufferPointer { hp in
            let (gb, ub, hb) = (gp.baseAddress!, up.baseAddress!, hp.baseAddress!)
            parallelRanges(g.count, unit: 16, pool: pool) { s, e in siluMul(gb + s, ub + s, hb + s, e - s) }
        } } }
        return matmul(h, down, tokens: tokens, pool: pool)    // [T, H]
    }
}
