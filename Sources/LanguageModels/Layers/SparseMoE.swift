import Foundation
import Kernels
import SafeTensors
import TensorCore

/// Sparse Mixture-of-Experts block with a gated shared expert (ARCHITECTURE.md §3.4; transformers
/// `Qwen3_5MoeSparseMoeBlock`): softmax router over all E experts in f32, top-k, renormalised weights,
/// SwiGLU experts read in place from the stored `[E, 2Im, H]` (or two `[E, Im, H]`) / `[E, H, Im]` tensors, plus
/// `sigmoid(shared_expert_gate · f) · shared_expert(f)`.
public struct SparseMoE: Sendable {
    let router: WeightTensor        // [E, H]
    let gateUp: ExpertGateUp        // [E, 2·Im, H] fused or [E, Im, H] twice
    let down: WeightTensor          // [E, H, Im]
    let shared: SwiGLU
    let sharedGate: WeightTensor    // [1, H]
    let experts: Int, topK: Int, expertWidth: Int, hidden: Int

    /// `prefix` ends with `mlp.`.
    public init(config: Qwen35Config, store: any WeightSource, prefix: String) throws {
        guard let e = config.numExperts, let k = config.numExpertsPerTok, let im = config.moeIntermediateSize,
              let ish = config.sharedExpertIntermediateSize else {
            throw WeightStoreError.message("\(prefix): MoE fields missing from the config")
        }
        let h = config.hiddenSize
        experts = e; topK = k; expertWidth = im; hidden = h
        router = try store.take(prefix + "gate.weight", shape: [e, h])
        gateUp = try store.takeExpertGateUp(prefix + "experts.gate_up_proj", experts: e, width: im, hidden: h)
        down = try store.take(prefix + "experts.down_proj", shape: [e, h, im])
        shared = try SwiGLU(store: store, prefix: prefix + "shared_expert.", hidden: h, intermediate: ish)
        sharedGate = try store.take(prefix + "shared_expert_gate.weight", shape: [1, h])
    }

    /// Routing of one call: for each token its k experts and renormalised weights.
    struct Routing {
        var experts: [Int]    // [T, k]
        var weights: [Float]  // [T, k]
    }

    func route(_ f: [Float], tokens: Int, rowwise: Bool = false, pool: ThreadPool) -> Routing {
        let logits = matmul(f, router, tokens: tokens, rowwise: rowwise, pool: pool)   // [T, E]
        var r = Routing(experts: [Int](repeating: 0, count: tokens * topK), weights: [Float](repeating: 0, count: tokens * topK))
        for t in 0..<tokens {
            let row = logits[(t * experts)..<((t + 1) * experts)]
            let mx = row.max()!
            var probs = row.map { expf($0 - mx) }                      // softmax(router_logits, dtype=float)
            let sum = probs.reduce(0, +)
            for i in probs.indices { probs[i] /= sum }
            // top-k by probability (ties: lower index first, as torch.topk on CPU in practice)
            let order = probs.indices.sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
            var picked: Float = 0
            for j in 0..<topK { picked += probs[order[j]] }
            for j in 0..<topK {
                r.experts[t * topK + j] = order[j]
                r.weights[t * topK + j] = probs[order[j]] / picked        // router_top_value /= sum
            }
        }
        return r
    }

    /// `f`: `[T, H]` → `[T, H]`. Tokens are grouped by expert so each active expert's weights are read once;
    /// each token adds its experts' outputs in expert order, so its sum does not depend on the other tokens.
    /// `rowwise` (a batch): the expert matmuls stay on the row-invariant kernel whatever their row count.
    public func callAsFunction(_ f: [Float], tokens: Int, rowwise: Bool = false, pool: ThreadPool = .shared) -> [Float] {
        let h = hidden, im = expertWidth
        let routing = route(f, tokens: tokens, rowwise: rowwise, pool: pool)
        var out = [Float](repeating: 0, count: tokens * h)           // [T, H]
        var byExpert = [[(token: Int, weight: Float)]](repeating: [], count: experts)
        for t in 0..<tokens {
            for j in 0..<topK { byExpert[routing.experts[t * topK + j]].append((t, routing.weights[t * topK + j])) }
        }
        for e in 0..<experts where !byExpert[e].isEmpty {
            let rows = byExpert[e]
            var x = [Float](repeating: 0, count: rows.count * h)    // [n, H] gathered inputs
            for (i, r) in rows.enumerated() {
                for c in 0..<h { x[i * h + c] = f[r.token * h + c] }
            }
            let (gateW, upW) = gateUp.expert(e)
            let g = matmul(x, gateW, tokens: rows.count, rowwise: rowwise, pool: pool)   // [n, Im]
            let u = matmul(x, upW, tokens: rows.count, rowwise: rowwise, pool: pool)     // [n, Im]
            var act = [Float](repeating: 0, count: rows.count * im)  // [n, Im]
            g.withUnsafeBufferPointer { gp in u.withUnsafeBufferPointer { up in act.withUnsafeMutableBufferPointer { ap in
                for i in 0..<rows.count {   // SiLU(gate) · up
                    siluMul(gp.baseAddress! + i * im, up.baseAddress! + i * im, ap.baseAddress! + i * im, im)
                }
            } } }
            let y = matmul(act, down.slice(row: e, dropLeading: true), tokens: rows.count, rowwise: rowwise, pool: pool)   // [n, H]
            out.withUnsafeMutableBufferPointer { op in
                y.withUnsafeBufferPointer { yp in
                    for (i, r) in rows.enumerated() {
                        axpy(r.weight, yp.baseAddress! + i * h, op.baseAddress! + r.token * h, h)
                    }
                }
            }
        }
        let s = shared(f, tokens: tokens, rowwise: rowwise, pool: pool)                 // [T, H]
        let gate = matmul(f, sharedGate, tokens: tokens, rowwise: rowwise, pool: pool)  // [T, 1]
        for t in 0..<tokens {
            let g = sigmoid(gate[t])
            for c in 0..<h { out[t * h + c] += g * s[t * h + c] }
        }
        return out
    }
}
