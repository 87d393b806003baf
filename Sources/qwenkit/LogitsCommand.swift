import ArgumentParser
import Foundation
import InferenceEngine
import LanguageModels
import SafeTensors
import TensorCore

/// Runs the model on given ids and writes the logits, so QwenKit can be checked from outside against any
/// reference (the tensor names and layout of the transformers fixtures).
struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Run a forward pass over token ids and write the logits to a safetensors file.",
        discussion: """
        Writes `logits` f32 [T, vocab] from one full forward. With --decode N, also greedy-decodes N tokens \
        through the cache: `decode_logits` f32 [N, vocab] (row 0 = last prompt position) and `greedy_ids` i64 [N].
        """)

    @Option(name: .long, help: "Model directory (config.json + safetensors) or a .gguf file.")
    var model: String
    @Option(name: .long, help: "Comma-separated token ids, e.g. 1,2,3.")
    var ids: String
    @Option(name: .long, help: "Greedy decode steps through the cache.")
    var decode: Int = 0
    @Option(name: .long, help: "Output .safetensors file.")
    var out: String
    @Option(name: .customLong("kv-type"), help: KVOptionHelp.kvType)
    var kvType = KVType.f32

    @Option(name: .long, help: "Threads (default: all cores).")
    var threads: Int?

    /// decode_logits is for comparing a few steps with a reference; every step also grows the cache, so
    /// 100,000 steps of even the tiny model ran for minutes. Long generations belong to `generate`.
    static let maxDecodeSteps = 4096

    func validate() throws {
        guard (0...Self.maxDecodeSteps).contains(decode) else {
            throw ValidationError("--decode \(decode): must be in 0...\(Self.maxDecodeSteps) (use `qwenkit generate` for long runs)")
        }
    }

    func run() throws {
        let parsed = ids.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let tokens = try parsed.map { s -> Int in
            guard let v = Int(s) else { throw ValidationError("--ids: '\(s)' is not an integer") }
            return v
        }
        guard !tokens.isEmpty else { throw ValidationError("--ids: no token ids given") }
        try CLIChecks.applyThreads(threads)
        try CLIChecks.outputFile(out, modelDirectory: model)
        let url = URL(fileURLWithPath: model)
        let m = try openModel(url, kvType: kvType)
        try CLIChecks.fitsContext(prompt: tokens.count, extra: decode, extraOption: "--decode", context: m.maxContextLength)
        // decode_logits [N, vocab] f32 is held in memory until written.
        let maxLogitBytes = 4 << 30
        guard decode <= maxLogitBytes / 4 / m.vocabSize else {
            throw CLIError("--decode \(decode): decode_logits would hold \(decode) × \(m.vocabSize) floats, more than \(maxLogitBytes >> 30) GiB")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= m.vocabSize }) {
            throw ValidationError("--ids: token id \(bad) is outside the vocabulary (0..<\(m.vocabSize))")
        }
        var writer = SafeTensorsWriter()
        var state = m.makeState()
        let logits = m.forward(tokens, state: &state, allLogits: true)            // [T, V]
        writer.add("logits", shape: [tokens.count, m.vocabSize], f32: logits)
        if decode > 0 {
            var cache = m.makeState()
            var row = m.forward(tokens, state: &cache, allLogits: false)          // [1, V]
            var rows: [Float] = [], greedy: [Int64] = []
            for step in 0..<decode {
                rows += row
                let next = argmax(row)
                greedy.append(Int64(next))
                if step + 1 < decode { row = m.forward([next], state: &cache, allLogits: false) }
            }
            writer.add("decode_logits", shape: [decode, m.vocabSize], f32: rows)
            writer.add("greedy_ids", shape: [decode], i64: greedy)
        }
        do { try writer.write(to: URL(fileURLWithPath: out)) } catch {
            throw CLIError("--out \(out): cannot write: \(plainMessage(error))")
        }
    }
}
