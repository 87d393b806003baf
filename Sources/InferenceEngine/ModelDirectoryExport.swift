import Foundation
import GGUF
import LanguageModels
import SafeTensors

/// A model directory as the one GGUF llama.cpp's converter would write (`qwenkit quantize`): weights and
/// `<arch>.*` (`Qwen35GGUFExport`), `general.type` and `general.name`, the recommended sampling from
/// `generation_config.json` (`general.sampling.*`), `tokenizer.ggml.*` and the chat template.
public enum ModelDirectoryExport {
    /// `progress(done, total)` counts elements written.
    public static func writer(directory: URL, mix: QuantMix = .f32, progress: ((Int, Int) -> Void)? = nil) throws -> GGUFWriter {
        let config = try Qwen35Config.load(directory: directory)
        var w = try Qwen35GGUFExport.writer(config: config, store: WeightStore(directory: directory), mix: mix, progress: progress)
        w.add("general.type", .string("model"))
        // gguf-py's naming heuristic starts from the directory name (`Metadata.apply_metadata_heuristic`).
        w.add("general.name", .string(directory.standardizedFileURL.lastPathComponent))
        for (k, v) in try GenerationConfig.load(directory: directory).ggufMetadata { w.add(k, v) }
        for (k, v) in try GGUFTokenizer.metadata(directory: directory, vocabSize: config.vocabSize) { w.add(k, v) }
        return w
    }
}
