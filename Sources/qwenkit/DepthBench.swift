import Foundation
import InferenceEngine
import LanguageModels
import TensorCore

/// `qwenkit bench --model M --depth N`: decode speed after an N-token prompt against decode after a 16-token
/// prompt, measured in one process with the steps alternating (one token of each in turn), so that both see
/// the same minute of this host, whose DRAM bandwidth swings by ±30 % between runs. Reports both rates and
/// their ratio (issue 13's "decode at 8k ≥ 0.9× decode at depth 0").
struct DepthBench {
    let directory: URL
    let kvType: KVType
    let depth, gen: Int

    func run() throws -> String {
        let lm = try openModel(directory, kvType: kvType)
        try CLIChecks.fitsContext(prompt: depth, extra: gen, extraOption: "--gen", context: lm.maxContextLength)
        let ids = ModelBench.prompt(depth, vocab: lm.vocabSize)
        var shallow = lm.makeState(), deep = lm.makeState()
        var next = [argmax(ModelBench.prefill(lm, Array(ids.prefix(16)), state: &shallow, chunk: PrefillGrid.chunk)), 0]
        let t0 = benchNow()
        next[1] = argmax(ModelBench.prefill(lm, ids, state: &deep, chunk: PrefillGrid.chunk))
        let prefillSeconds = benchNow() - t0
        var seconds = [0.0, 0.0]
        for _ in 0..<gen {
            for i in 0..<2 {
                let t = benchNow()
                let logits = i == 0 ? lm.forward([next[0]], state: &shallow, allLogits: false)  // [1, vocab]
                                    : lm.forward([next[1]], state: &deep, allLogits: false)     // [1, vocab]
                seconds[i] += benchNow() - t
                next[i] = argmax(logits)
            }
        }
        let (r0, r1) = (Double(gen) / seconds[0], Double(gen) / seconds[1])
        return String(format: """
            prefill    %.1f tok/s  (%d tokens)
            decode     %.2f tok/s at depth 16, %.2f tok/s at depth %d (%d tokens each, steps alternating)
            ratio      %.3f  (depth %d / depth 16)
            """, Double(depth) / prefillSeconds, depth, r0, r1, depth, gen, r1 / r0, depth)
    }
}
