import Foundation
import InferenceEngine
import LanguageModels

/// `qwenkit bench --model M --batch N [--batch-chunk K]`: the model side of continuous batching, without the
/// server. N sequences each read a `--prompt`-token prompt, then `--gen` steps decode one token for each of them
/// in one `forwardBatch`; with `--batch-chunk K`, every step also carries a K-token prompt chunk of another
/// sequence (a long prompt arriving while the streams decode). Reports step time (median, p99) and aggregate
/// decode tokens/s, so the scheduler's step cost can be judged against one sequence's decode step.
struct BatchBench {
    let directory: URL
    let batch, chunk, prompt, gen: Int

    func run() throws -> String {
        let lm = try openModel(directory, kvType: .f32)
        try CLIChecks.fitsContext(prompt: prompt, extra: gen, extraOption: "--gen", context: lm.maxContextLength)
        try CLIChecks.fitsContext(prompt: chunk * (gen + 1), extra: 0, extraOption: "--batch-chunk", context: lm.maxContextLength)
        var seed: UInt64 = 0xBA7C4
        func ids(_ n: Int) -> [Int] {
            (0..<n).map { _ in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Int(seed >> 33) % lm.vocabSize
            }
        }
        var states = (0..<batch).map { _ in lm.makeState() }
        var last = [Int](repeating: 0, count: batch)
        for i in 0..<batch {
            var read = 0
            let p = ids(prompt)
            var logits: [Float] = []   // [1, V]
            while read < p.count {
                let end = PrefillGrid.chunkEnd(from: read, count: p.count, chunk: PrefillGrid.chunk)
                logits = lm.forward(Array(p[read..<end]), state: &states[i], allLogits: false)
                read = end
            }
            last[i] = argmax(logits)
        }
        if chunk > 0 { states.append(lm.makeState()) }
        let v = lm.vocabSize
        var steps: [Double] = []
        for _ in 0..<gen {
            var rows = last.map { [$0] }
            if chunk > 0 { rows.append(ids(chunk)) }
            let t0 = benchNow()
            let logits = lm.forwardBatch(rows, states: &states)   // [rows, V]
            steps.append(benchNow() - t0)
            for i in 0..<batch { last[i] = argmax(Array(logits[(i * v)..<((i + 1) * v)])) }
        }
        let sorted = steps.sorted()
        let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
        let med = median(steps)
        return String(format: "batch %d%@: step median %.1f ms, p99 %.1f ms, decode %.1f tok/s aggregate (%d steps)",
                      batch, chunk > 0 ? " + \(chunk)-token chunk" : "", med * 1e3, p99 * 1e3,
                      Double(batch) / med, gen)
    }
}
