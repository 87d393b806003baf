import Foundation
import InferenceEngine
import LanguageModels
import TensorCore

/// `qwenkit bench --kl-vs-f32`: the fidelity cost of each KV storage type on one long prompt (a text file's
/// tokens, or the speed bench's pseudo-random ids), next to llama.cpp's `llama-perplexity --kl-divergence`.
struct KVFidelityBench {
    let directory: URL
    let prompt: Int
    let promptFile: String?
    let from: Int
    let types: [KVType]
    let json: Bool

    func run() throws -> String {
        let bundle = try ModelBundle(directory: directory)
        let model = bundle.model
        var ids: [Int]
        if let promptFile {
            guard let text = try? String(contentsOfFile: promptFile, encoding: .utf8) else {
                throw CLIError("--prompt-file \(promptFile): cannot read it as UTF-8 text")
            }
            ids = bundle.tokenizer.encode(text)
            guard ids.count >= prompt else {
                throw CLIError("--prompt-file \(promptFile): \(ids.count) tokens, fewer than --prompt \(prompt)")
            }
            ids = Array(ids.prefix(prompt))
        } else {
            ids = ModelBench.prompt(prompt, vocab: model.vocabSize)
        }
        try CLIChecks.fitsContext(prompt: ids.count, extra: 0, extraOption: "--gen", context: model.maxContextLength)
        let compared = types.isEmpty ? KVType.allCases.filter { $0 != .f32 } : types
        for t in compared { try t.check(headDim: model.config.headDim) }
        let t0 = benchNow()
        guard from < ids.count else { throw CLIError("--kl-from \(from): the prompt has \(ids.count) tokens") }
        let results = KVFidelity.measure(model: model, ids: ids, types: compared, from: from)
        let seconds = benchNow() - t0
        if json {
            let rows = results.map {
                jsonObject([("kv_type", $0.type.rawValue), ("positions", $0.positions), ("mean_kl", $0.meanKL),
                            ("max_kl", $0.maxKL), ("same_top1", $0.sameTop1)])
            }
            return "[" + rows.joined(separator: ", ") + "]"
        }
        var lines = ["model \(directory.lastPathComponent), \(ids.count) prompt tokens"
                     + (promptFile.map { " of \($0)" } ?? " (pseudo-random ids)")
                     + ", positions \(from)..<\(ids.count) scored" + String(format: ", %.1f s", seconds),
                     "kv type   mean KL vs f32   max KL        same top-1"]
        for r in results {
            lines.append(r.type.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                         + String(format: "%-17.6g%-14.6g%.4f", r.meanKL, r.maxKL, r.sameTop1))
        }
        return lines.joined(separator: "\n")
    }
}
