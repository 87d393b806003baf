import Foundation
import GGUF

/// The recommended sampler values of a GGUF (gguf-py `Keys.General.SAMPLING_*`), which llama.cpp's
/// `convert_hf_to_gguf.py` copies from `generation_config.json` (gguf-py `Metadata.load`) and llama.cpp takes as
/// its defaults: a GGUF then samples as its source directory does.
extension GenerationConfig {
    static let ggufTopK = "general.sampling.top_k"
    static let ggufTopP = "general.sampling.top_p"
    static let ggufMinP = "general.sampling.min_p"
    static let ggufTemperature = "general.sampling.temp"
    static let ggufRepeatPenalty = "general.sampling.penalty_repeat"

    /// The keys for the values this config has, typed as `gguf_writer.add_sampling_*` writes them (top_k int32,
    /// the others float32).
    public var ggufMetadata: [(String, GGUFValue)] {
        var out: [(String, GGUFValue)] = []
        if let k = sampling.topK { out.append((Self.ggufTopK, .int32(Int32(clamping: k)))) }
        if let p = sampling.topP { out.append((Self.ggufTopP, .float32(p))) }
        if let p = sampling.minP { out.append((Self.ggufMinP, .float32(p))) }
        if let t = sampling.temperature { out.append((Self.ggufTemperature, .float32(t))) }
        if let r = sampling.repetitionPenalty { out.append((Self.ggufRepeatPenalty, .float32(r))) }
        return out
    }

    /// The sampling keys of `file`; absent keys mean no default, a key of the wrong type is an error naming it.
    public init(gguf file: GGUFFile) throws {
        self.init()
        func value<T>(_ key: String, _ expected: String, _ read: (GGUFValue) -> T?) throws -> T? {
            guard let v = file.metadata[key] else { return nil }
            guard let x = read(v) else {
                throw GGUFError.invalidMetadata(file: file.path, key: key, reason: "expected \(expected), found \(v.type)")
            }
            return x
        }
        sampling.topK = try value(Self.ggufTopK, "an integer") { $0.int }
        sampling.topP = try value(Self.ggufTopP, "a number") { $0.double.map(Float.init) }
        sampling.minP = try value(Self.ggufMinP, "a number") { $0.double.map(Float.init) }
        sampling.temperature = try value(Self.ggufTemperature, "a number") { $0.double.map(Float.init) }
        sampling.repetitionPenalty = try value(Self.ggufRepeatPenalty, "a number") { $0.double.map(Float.init) }
    }
}
