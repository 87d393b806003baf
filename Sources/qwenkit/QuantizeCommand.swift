import ArgumentParser
import Foundation
import InferenceEngine
import LanguageModels
import SafeTensors
import TensorCore

/// `qwenkit quantize --model DIR --type Q4_K_M --out FILE.gguf`: a safetensors checkpoint as a GGUF in llama.cpp's
/// converter layout (tensor names, metadata, tokenizer and chat template) with llama-quantize's per-tensor type
/// mixture, so llama.cpp loads it too.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize", abstract: "Write a safetensors checkpoint as a GGUF (F32, Q8_0, Q4_K_M, Q5_K_M, Q6_K).")

    @Option(name: .long, help: "Model directory (config.json + safetensors + tokenizer.json).") var model: String
    @Option(name: .long, help: "F32, Q8_0, Q4_K_M, Q5_K_M or Q6_K.") var type: String = "Q8_0"
    @Option(name: .long, help: "Output .gguf file.") var out: String

    func run() throws {
        guard let mix = QuantMix.allCases.first(where: { $0.rawValue.uppercased() == type.uppercased() }) else {
            throw ValidationError("--type \(type): expected one of \(QuantMix.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let bar = ProgressBar(label: mix.rawValue, enabled: isatty(2) != 0)
        let writer = try ModelDirectoryExport.writer(directory: URL(fileURLWithPath: model), mix: mix) { done, total in
            bar.update(done, of: total)
        }
        bar.finish()
        try writer.write(to: URL(fileURLWithPath: out))
    }
}

/// A one-line progress bar on stderr (`Q4_K_M [########------------]  41%`), redrawn when the percentage moves.
final class ProgressBar {
    let label: String
    let enabled: Bool
    private var shown = -1

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ done: Int, of total: Int) {
        let percent = total > 0 ? done * 100 / total : 100
        guard enabled, percent != shown else { return }
        shown = percent
        let filled = percent * 30 / 100
        let line = "\r\(label) [" + String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled) + "] \(percent)%"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}
