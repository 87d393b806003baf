import ArgumentParser
import Foundation
import InferenceEngine
import LanguageModels
import TensorCore

/// `--kv-type f32|bf16|f16|q8_0`: an unknown name is an error naming it and the accepted ones.
extension KVType: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
}

enum KVOptionHelp {
    static let kvType: ArgumentHelp = "KV cache storage: f32 (exact, default), bf16, f16 or q8_0 (llama.cpp's -ctk/-ctv)."
}

/// Opens a model directory or a `.gguf` file whose caches store `kvType`.
func openModel(_ url: URL, kvType: KVType) throws -> Qwen35Model {
    url.pathExtension.lowercased() == "gguf" ? try Qwen35Model(gguf: url, kvType: kvType) : try Qwen35Model(directory: url, kvType: kvType)
}
