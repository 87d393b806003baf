import ArgumentParser
import Foundation
import InferenceEngine
import LanguageModels
import SafeTensors
import Templating
import TensorCore
import Tokenization

/// `qwenkit quantize --model DIR --type Q8_0 --out FILE.gguf`: a safetensors checkpoint as a GGUF in llama.cpp's
/// converter layout (tensor names, metadata, tokenizer and chat template), so llama.cpp loads it too.
/// F32 and Q8_0 so far; the K-quant mixtures (Q4_K_M, Q5_K_M, Q6_K) are not implemented yet.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "quantize",
                                                    abstract: "Write a safetensors checkpoint as a GGUF (F32 or Q8_0).")

    @Option(name: .long, help: "Model directory (config.json + safetensors + tokenizer.json).") var model: String
    @Option(name: .long, help: "Q8_0 or F32.") var type: String = "Q8_0"
    @Option(name: .long, help: "Output .gguf file.") var out: String

    func run() throws {
        let format: WeightFormat
        switch type.uppercased() {
        case "Q8_0": format = .q8_0
        case "F32": format = .f32
        default: throw ValidationError("--type \(type): only Q8_0 and F32 are implemented (Q4_K_M, Q5_K_M, Q6_K are not yet)")
        }
        let dir = URL(fileURLWithPath: model)
        let config = try Qwen35Config.load(directory: dir)
        let store = try WeightStore(directory: dir)
        let showProgress = isatty(2) != 0
        var writer = try Qwen35GGUFExport.writer(config: config, store: store, matrices: format) { done, total in
            if showProgress { FileHandle.standardError.write(Data("\r\(type) \(done)/\(total) tensors".utf8)) }
        }
        if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
        let tokenizer = try Tokenizer.load(directory: dir)
        let template = ChatFormatter.hasTemplate(dir) ? try ChatTemplate.load(directory: dir).source : nil
        for (k, v) in try GGUFTokenizer.metadata(
            tokenizerJSON: Data(contentsOf: dir.appendingPathComponent("tokenizer.json")), vocabSize: config.vocabSize,
            eosToken: tokenizer.eosToken, chatTemplate: template) { writer.add(k, v) }
        try writer.write(to: URL(fileURLWithPath: out))
    }
}
