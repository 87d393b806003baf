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
    /// All active experts' gate and up products (with the shared expert's) run as one `matmulMany`, then all
    /// down products: two parallel regions per layer instead of three per expert.
    /// `rowwise` (a batch): the expert matmuls stay on the row-invariant kernel whatever their row count.
    public func callAsFunction(_ f: [Float], tokens: Int, rowwise: Bool = false, pool: ThreadPool = .shared) -> [Float] {
        let h = hidden, im = expertWidth, ish = shared.gate.shape[0]
        let routing = route(f, tokens: tokens, rowwise: rowwise, pool: pool)
        var byExpert = [[(token: Int, weight: Float)]](repeating: [], count: experts)
        for t in 0..<tokens {
            for j in 0..<topK { byExpert[routing.experts[t * topK + j]].append((t, routing.weights[t * topK + j])) }
        }
        let active = (0..<experts).filter { !byExpert[$0].isEmpty }
        let routed = active.reduce(0) { $0 + byExpert[$1].count }
        // One scratch buffer: per active expert its gathered inputs x [n, H], gate g and up u [n, Im], output y
        // [n, H]; then the shared expert's gate and up [T, Ish] and output [T, H].
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: routed * (2 * h + 2 * im) + tokens * (2 * ish + h))
        defer { scratch.deallocate() }
        var used = 0
        func carve(_ n: Int) -> UnsafeMutablePointer<Float> { defer { used += n }; return scratch + used }
        let slots = active.map { e in
            (e: e, rows: byExpert[e], x: carve(byExpert[e].count * h), g: carve(byExpert[e].count * im),
             u: carve(byExpert[e].count * im), y: carve(byExpert[e].count * h))
        }
        let sg = carve(tokens * ish), su = carve(tokens * ish), sy = carve(tokens * h)   // [T, Ish] ×2, [T, H]
        f.withUnsafeBufferPointer { fp in
            var jobs: [MatmulJob] = []
            for s in slots {
                for (i, r) in s.rows.enumerated() { (s.x + i * h).update(from: fp.baseAddress! + r.token * h, count: h) }
                let (gateW, upW) = gateUp.expert(s.e)
                jobs.append(MatmulJob(x: s.x, w: gateW, y: s.g, tokens: s.rows.count))   // [n, Im]
                jobs.append(MatmulJob(x: s.x, w: upW, y: s.u, tokens: s.rows.count))     // [n, Im]
            }
            jobs.append(MatmulJob(x: fp.baseAddress!, w: shared.gate, y: sg, tokens: tokens))
            jobs.append(MatmulJob(x: fp.baseAddress!, w: shared.up, y: su, tokens: tokens))
            matmulMany(jobs, rowwise: rowwise, pool: pool)
        }
        for s in slots { siluMul(s.g, s.u, s.g, s.rows.count * im) }   // SiLU(gate) · up, in place
        siluMul(sg, su, sg, tokens * ish)
        var downs = slots.map { s in
            MatmulJob(x: s.g, w: down.slice(row: s.e, dropLeading: true), y: s.y, tokens: s.rows.count)   // [n, H]
        }
        downs.append(MatmulJob(x: sg, w: shared.down, y: sy, tokens: tokens))
        matmulMany(downs, rowwise: rowwise, pool: pool)
        var out = [Float](repeating: 0, count: tokens * h)           // [T, H]
        out.withUnsafeMutableBufferPointer { op in
            for s in slots {
                for (i, r) in s.rows.enumerated() { axpy(r.weight, s.y + i * h, op.baseAddress! + r.token * h, h) }
            }
        }
        let gate = matmul(f, sharedGate, tokens: tokens, rowwise: rowwise, pool: pool)  // [T, 1]
        for t in 0..<tokens {
            let g = sigmoid(gate[t])
            for c in 0..<h { out[t * h + c] += g * sy[t * h + c] }
        }
        return out
    }
}
