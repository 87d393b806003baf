import Foundation
import GGUF
import JSON

// MARK: - Writing tokenizer.ggml.* (quantize, tests)

extension GGUFTokenizer {
    /// llama.cpp's token types (`gguf.TokenType`): the values `tokenizer.ggml.token_type` holds.
    public enum TokenType: Int32, Sendable {
        case normal = 1, control = 3, userDefined = 4, unused = 5
    }

    /// The `tokenizer.ggml.*` metadata (and `tokenizer.chat_template`) that llama.cpp's `convert_hf_to_gguf.py`
    /// writes for a byte-level BPE `tokenizer.json` (`_set_vocab_gpt2`: model `gpt2`, pre `qwen35`), key for key
    /// and in its order: tokens and types (`get_vocab_base`), merges, special token ids and add-token flags
    /// (gguf-py `SpecialVocab`), chat template. `tokenizerConfig` / `modelConfig` are `tokenizer_config.json` /
    /// `config.json`; `vocabSize` the embedding's rows (the token list is padded with `[PAD<i>]` up to it, as
    /// the converter does: llama.cpp takes the vocabulary size from this list).
    public static func metadata(tokenizerJSON: Data, tokenizerConfig: Data?, modelConfig: Data?, vocabSize: Int = 0,
                                chatTemplate: String?) throws -> [(String, GGUFValue)] {
        func parse(_ data: Data?, _ name: String) throws -> JSONValue? {
            guard let data else { return nil }
            do { return try JSONValue.parse(data) } catch {
                throw GGUFError.invalidMetadata(file: name, key: "", reason: "not JSON: \(error)")
            }
        }
        guard let root = try parse(tokenizerJSON, "tokenizer.json"), let model = root["model"],
              let vocab = model["vocab"]?.objectValue, let merges = model["merges"]?.arrayValue else {
            throw GGUFError.invalidMetadata(file: "tokenizer.json", key: "model", reason: "not a BPE model with vocab and merges")
        }
        let added = root["added_tokens"]?.arrayValue ?? []
        var tokens: [Int: (String, TokenType)] = [:]
        for (token, id) in vocab { if let i = id.intValue { tokens[i] = (token, .normal) } }
        for a in added {
            guard let i = a["id"]?.intValue, let content = a["content"]?.stringValue else { continue }
            // `added_tokens_decoder[i].special or does_token_look_special(token)`; user-defined tokens get their
            // "▁" pre-normalised to spaces. (The converter also round-trips non-normalised added tokens through
            // the HF tokenizer; for byte-level BPE that returns them unchanged.)
            tokens[i] = a["special"]?.boolValue == true || looksSpecial(content)
                ? (content, .control) : (content.replacingOccurrences(of: "\u{2581}", with: " "), .userDefined)
        }
        let count = max((tokens.keys.max() ?? -1) + 1, vocabSize)
        var list: [GGUFValue] = [], types: [GGUFValue] = []
        for i in 0..<count {
            let (t, ty) = tokens[i] ?? ("[PAD\(i)]", .unused)   // holes in the id space
            list.append(.string(t)); types.append(.int32(ty.rawValue))
        }
        // Pairs (transformers ≥ 4.45) joined by a space, spaces inside a part written as U+0120 as gguf-py does.
        let mergeStrings: [GGUFValue] = try merges.enumerated().map { i, m in
            if let s = m.stringValue { return .string(s) }
            guard let pair = m.arrayValue?.compactMap(\.stringValue), pair.count == 2 else {
                throw GGUFError.invalidMetadata(file: "tokenizer.json", key: "model.merges", reason: "entry \(i) is neither \"a b\" nor [a, b]")
            }
            return .string(pair.map { $0.replacingOccurrences(of: " ", with: "\u{0120}") }.joined(separator: " "))
        }
        var out: [(String, GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("qwen35")),
            ("tokenizer.ggml.tokens", .array(.string, list)), ("tokenizer.ggml.token_type", .array(.int32, types)),
            ("tokenizer.ggml.merges", .array(.string, mergeStrings)),
        ]
        let special = try SpecialVocab(tokenizer: root, tokenizerConfig: try parse(tokenizerConfig, "tokenizer_config.json"),
                                       modelConfig: try parse(modelConfig, "config.json"))
        for (kind, id) in special.ids { out.append(("tokenizer.ggml.\(kind.idKey)", .uint32(UInt32(id)))) }
        for (kind, add) in special.add { out.append(("tokenizer.ggml.add_\(kind.rawValue)_token", .bool(add))) }
        if let chatTemplate { out.append(("tokenizer.chat_template", .string(chatTemplate))) }
        for (key, value) in special.normalizer { out.append(("tokenizer.ggml.normalizer.\(key)", .bool(value))) }
        return out
    }

    /// `metadata` for a model directory: tokenizer.json, tokenizer_config.json and config.json, and the chat
    /// template the converter picks (tokenizer_config.json's `chat_template`, else chat_template.jinja).
    public static func metadata(directory: URL, vocabSize: Int) throws -> [(String, GGUFValue)] {
        func read(_ name: String) -> Data? { FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) }
        guard let json = read("tokenizer.json") else {
            throw GGUFError.invalidMetadata(file: directory.appendingPathComponent("tokenizer.json").path, key: "", reason: "missing")
        }
        let config = read("tokenizer_config.json")
        var template = read("chat_template.jinja").map { String(decoding: $0, as: UTF8.self) }
        if let config, let c = try? JSONValue.parse(config), let t = c["chat_template"] {
            guard let s = t.stringValue else {
                throw GGUFError.invalidMetadata(file: "tokenizer_config.json", key: "chat_template",
                                                reason: "only a single template string is supported for GGUF export")
            }
            template = s
        }
        return try metadata(tokenizerJSON: json, tokenizerConfig: config, modelConfig: read("config.json"),
                            vocabSize: vocabSize, chatTemplate: template)
    }

    /// convert_hf_to_gguf.py `does_token_look_special`: added tokens that ought to be control tokens even when
    /// `tokenizer.json` does not mark them special (Qwen's `<|fim_prefix|>`, `<|repo_name|>`, …).
    static func looksSpecial(_ t: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(t)
            || (t.hasPrefix("<|") && t.hasSuffix("|>")) || (t.hasPrefix("<｜") && t.hasSuffix("｜>"))
            || (t.hasPrefix("<unused") && t.hasSuffix(">"))
    }
}

/// gguf-py `SpecialVocab` for a tokenizer.json with a ByteLevel (or no) post-processor: special token ids from
/// tokenizer_config.json's `<kind>_token` (the first added token with that content), then config.json's
/// `<kind>_token_id` (root or `text_config`) for kinds still unset; add-token flags from the post-processor,
/// then tokenizer_config.json's `add_<kind>_token`; normaliser flags. Insertion order is the converter's.
struct SpecialVocab {
    enum Kind: String, CaseIterable {
        case bos, eos, unk, sep, pad, cls, mask
        /// The GGUF key (`cls` has none: gguf-py's writer skips it).
        var idKey: String {
            switch self {
            case .unk: "unknown_token_id"
            case .sep: "seperator_token_id"   // sic: gguf-py's spelling
            case .pad: "padding_token_id"
            default: "\(rawValue)_token_id"
            }
        }
    }
    private(set) var ids: [(Kind, Int)] = []
    private(set) var add: [(Kind, Bool)] = []
    private var lowercase: Bool?, stripAccents: Bool?
    /// `tokenizer.ggml.normalizer.*` flags, in the writer's order.
    var normalizer: [(String, Bool)] { [("lowercase", lowercase), ("strip_accents", stripAccents)].compactMap { k, v in v.map { (k, $0) } } }

    init(tokenizer: JSONValue, tokenizerConfig: JSONValue?, modelConfig: JSONValue?) throws {
        if let n = tokenizer["normalizer"] { parseNormalizer(n) }
        if let post = tokenizer["post_processor"], post != .null {
            for p in post["processors"]?.arrayValue ?? [post] {
                switch p["type"]?.stringValue {
                case "ByteLevel": setAdd(.bos, false); setAdd(.eos, false)
                case let type? where type == "TemplateProcessing" || type == "RobertaProcessing":
                    // They decide BOS/EOS/SEP ids and flags from the template: not ported (Qwen has none).
                    throw GGUFError.invalidMetadata(file: "tokenizer.json", key: "post_processor",
                                                    reason: "\(type) is not supported for GGUF export")
                default: break   // ignored by gguf-py too
                }
            }
        }
        let added = tokenizer["added_tokens"]?.arrayValue ?? []
        if let tc = tokenizerConfig {
            func tokenContent(_ kind: Kind) -> String? { tc["\(kind.rawValue)_token"]?.stringValue ?? tc["\(kind.rawValue)_token"]?["content"]?.stringValue }
            for kind in Kind.allCases {
                if let flag = tc["add_\(kind.rawValue)_token"]?.boolValue { setAdd(kind, flag) }
                // An unset BOS falls back to CLS, an unset EOS to SEP (`special_bos = special_cls`).
                let fallback: Kind? = kind == .bos ? .cls : kind == .eos ? .sep : nil
                guard let content = tokenContent(kind) ?? fallback.flatMap(tokenContent),
                      let id = added.first(where: { $0["content"]?.stringValue == content })?["id"]?.intValue else { continue }
                try setID(kind, id)
            }
        }
        if let c = modelConfig {
            for kind in Kind.allCases {
                if let id = (c["\(kind.rawValue)_token_id"] ?? c["text_config"]?["\(kind.rawValue)_token_id"])?.intValue { try setID(kind, id) }
            }
        }
        ids.removeAll { $0.0 == .cls }
    }

    /// The first value set wins (`_set_special_token` returns when the kind is already set).
    private mutating func setID(_ kind: Kind, _ id: Int) throws {
        guard id >= 0 else {
            throw GGUFError.invalidMetadata(file: "tokenizer_config.json", key: "\(kind.rawValue)_token", reason: "negative id \(id)")
        }
        if !ids.contains(where: { $0.0 == kind }) { ids.append((kind, id)) }
    }

    /// The post-processor's flag wins over tokenizer_config.json's (gguf-py warns and keeps it).
    private mutating func setAdd(_ kind: Kind, _ flag: Bool) {
        if !add.contains(where: { $0.0 == kind }) { add.append((kind, flag)) }
    }

    private mutating func parseNormalizer(_ n: JSONValue) {
        switch n["type"]?.stringValue {
        case "Lowercase": lowercase = true
        case "StripAccents": stripAccents = true
        case "BertNormalizer":
            if let v = n["lowercase"]?.boolValue { lowercase = v }
            if let v = n["strip_accents"]?.boolValue { stripAccents = v }
        case "Sequence": for m in n["normalizers"]?.arrayValue ?? [] { parseNormalizer(m) }
        default: break
        }
    }
}
