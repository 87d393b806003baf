import Foundation
import LanguageModels
import TensorCore

/// What storing the KV cache in a smaller type costs in fidelity (llama.cpp's `llama-perplexity --kl-divergence`
/// with `-ctk/-ctv`): the prompt is read once with an f32 cache and once per type, on the same 64-token grid,
/// and at every position the next-token distribution of the typed cache is compared with the f32 one.
public struct KVFidelity: Sendable, Equatable {
    public var type: KVType
    public var positions: Int
    /// Mean over positions of KL(P_f32 ‖ P_type), in nats.
    public var meanKL: Double
    public var maxKL: Double
    /// Fraction of positions whose most likely next token is the same as with the f32 cache.
    public var sameTop1: Double

    /// Reads `ids` through `model` with an f32 cache and with each of `types`, chunk by chunk (the logits of one
    /// chunk at a time, so memory beyond the caches stays `(1 + types) × chunk × vocab` floats), and scores
    /// positions `from...` (llama-perplexity scores the second half of its context: `from = count / 2`).
    public static func measure(model: Qwen35Model, ids: [Int], types: [KVType], from: Int = 0,
                               chunk: Int = PrefillGrid.chunk) -> [KVFidelity] {
        precondition(from >= 0 && from < ids.count && chunk > 0, "KVFidelity: no position to score")
        let v = model.vocabSize
        var reference = model.makeState(kvType: .f32)
        var states = types.map { model.makeState(kvType: $0) }
        var sums = [Double](repeating: 0, count: types.count), maxima = sums, agree = sums
        var read = 0
        while read < ids.count {
            let end = PrefillGrid.chunkEnd(from: read, count: ids.count, chunk: chunk)
            let piece = Array(ids[read..<end])
            guard end > from else {   // nothing scored here: advance the states without the lm_head over every row
                _ = model.forward(piece, state: &reference, allLogits: false)
                for i in types.indices { _ = model.forward(piece, state: &states[i], allLogits: false) }
                read = end
                continue
            }
            let base = model.forward(piece, state: &reference, allLogits: true)      // [n, V]
            for i in types.indices {
                let test = model.forward(piece, state: &states[i], allLogits: true)  // [n, V]
                for r in min(piece.count, max(0, from - read))..<piece.count {
                    let (kl, same) = base.withUnsafeBufferPointer { b in test.withUnsafeBufferPointer { t in
                        klDivergence(b.baseAddress! + r * v, t.baseAddress! + r * v, count: v)
                    } }
                    sums[i] += kl
                    maxima[i] = max(maxima[i], kl)
                    if same { agree[i] += 1 }
                }
            }
            read = end
        }
        let n = Double(ids.count - from)
        return types.indices.map {
            KVFidelity(type: types[$0], positions: ids.count - from, meanKL: sums[$0] / n, maxKL: maxima[$0], sameTop1: agree[$0] / n)
        }
    }

    /// KL(softmax(p) ‖ softmax(q)) for two logit rows, in f64, and whether their argmaxes agree.
    static func klDivergence(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, count: Int) -> (Double, Bool) {
        var pMax = -Double.infinity, qMax = -Double.infinity, pArg = 0, qArg = 0
        for i in 0..<count {
            if Double(p[i]) > pMax { pMax = Double(p[i]); pArg = i }
            if Double(q[i]) > qMax { qMax = Double(q[i]); qArg = i }
        }
        var pSum = 0.0, qSum = 0.0
        for i in 0..<count { pSum += exp(Double(p[i]) - pMax); qSum += exp(Double(q[i]) - qMax) }
        let pLog = pMax + log(pSum), qLog = qMax + log(qSum)   // log-sum-exp of each row
        var kl = 0.0
        for i in 0..<count {
            let lp = Double(p[i]) - pLog, lq = Double(q[i]) - qLog
            kl += exp(lp) * (lp - lq)
        }
        return (kl, pArg == qArg)
    }
}
