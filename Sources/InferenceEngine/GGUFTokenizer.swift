import Foundation
import GGUF
import JSON
import Tokenization

/// The tokenizer stored in GGUF metadata (`tokenizer.ggml.*`, as llama.cpp's converter writes it for Qwen's
/// byte-level BPE: model `gpt2`, pre `qwen35`) rebuilt as the `tokenizer.json` it came from, so the one
/// tokenizer pipeline produces exactly the ids of the `tokenizer.json` path. Token types follow llama.cpp's
/// `llama_token_type`: 1 normal, 3 control (special added token), 4 user-defined (non-special added token),
/// 5 unused (padding up to the embedding rows).
public enum GGUFTokenizer {
    /// Qwen3.5's pre-tokenizer split (the `qwen35` pre-tokenizer of llama.cpp and `pretokenize_regex` of HF).
    static let qwen35Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    public static func load(_ f: GGUFFile) throws -> Tokenizer {
        let (json, config) = try tokenizerJSON(f)
        return try Tokenizer(tokenizerJSON: json, config: config, path: "\(f.path) (tokenizer.ggml.*)")
    }

    /// `tokenizer.json` and `tokenizer_config.json` equivalents of the file's tokenizer metadata.
    public static func tokenizerJSON(_ f: GGUFFile) throws -> (Data, Data) {
        let model = try f.string("tokenizer.ggml.model")
        let pre = f.metadata["tokenizer.ggml.pre"]?.string ?? "default"
        guard model == "gpt2", pre == "qwen35" || pre == "qwen2" else {
            throw GGUFError.invalidMetadata(file: f.path, key: "tokenizer.ggml.pre",
                                            reason: "unsupported tokenizer \(model)/\(pre) (supported: gpt2/qwen35)")
        }
        let tokens = try f.array("tokenizer.ggml.tokens").enumerated().map { i, v in
            guard let s = v.string else { throw GGUFError.invalidMetadata(file: f.path, key: "tokenizer.ggml.tokens", reason: "entry \(i) is not a string") }
            return s
        }
        let types = f.metadata["tokenizer.ggml.token_type"]?.array?.map { $0.int ?? 1 } ?? []
        let merges = try f.array("tokenizer.ggml.merges").enumerated().map { i, v -> JSONValue in
            guard let s = v.string, let space = s.firstIndex(of: " ") else {
                throw GGUFError.invalidMetadata(file: f.path, key: "tokenizer.ggml.merges", reason: "entry \(i) is not \"a b\"")
            }
            return .array([.string(String(s[..<space])), .string(String(s[s.index(after: space)...]))])
        }
        var vocab: [(String, JSONValue)] = [], added: [JSONValue] = []
        for (id, token) in tokens.enumerated() {
            let type = id < types.count ? types[id] : 1
            if type == 5 { continue }   // unused padding ("[PAD<i>]" up to the embedding rows): not in tokenizer.json
            if type == 3 || type == 4 {
                added.append(.object([
                    ("id", .int(id)), ("content", .string(token)), ("single_word", .bool(false)),
                    ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)),
                    ("special", .bool(type == 3)),
                ]))
            } else {
                vocab.append((token, .int(id)))
            }
        }
        let byteLevel: JSONValue = .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)),
                                            ("trim_offsets", .bool(false)), ("use_regex", .bool(false))])
        let root: JSONValue = .object([
            ("version", .string("1.0")),
            ("added_tokens", .array(added)),
            ("normalizer", .object([("type", .string("NFC"))])),
            ("pre_tokenizer", .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(qwen35Split))])),
                         ("behavior", .string("Isolated")), ("invert", .bool(false))]),
                byteLevel,
            ]))])),
            ("post_processor", .null),
            ("decoder", byteLevel),
            ("model", .object([("type", .string("BPE")), ("vocab", .object(vocab)), ("merges", .array(merges)),
                               ("byte_fallback", .bool(false)), ("ignore_merges", .bool(false))])),
        ])
        var config: [(String, JSONValue)] = []
        for (key, field) in [("tokenizer.ggml.eos_token_id", "eos_token"), ("tokenizer.ggml.padding_token_id", "pad_token"),
                             ("tokenizer.ggml.bos_token_id", "bos_token")] {
            if let id = f.metadata[key]?.int, id >= 0, id < tokens.count { config.append((field, .string(tokens[id]))) }
        }
        return (Data(root.serialized().utf8), Data(JSONValue.object(config).serialized().utf8))
    }
}
