import Foundation
import JSON

// Strict `config.json` parsing for Qwen3.5 (ARCHITECTURE.md §1). Every text hyper-parameter is read from
// `text_config` (released multimodal shape, model_type `qwen3_5` / `qwen3_5_moe`), falling back to the top
// level (flattened exports, model_type `qwen3_5_text` / `qwen3_5_moe_text`). The text is first read by the shared
// JSON reader (duplicate keys, bad escapes, numbers out of range are errors with line and column, as for every
// other JSON file QwenKit reads); values are then typed by Decodable;
// a wrong type, a missing required field or an inconsistent value is an error naming the field and file.

/// Why a `config.json` cannot be used.
public enum Qwen35ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    case directoryNotFound(path: String)
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case invalidJSON(file: String, reason: String)
    /// A field is present with the wrong JSON type.
    case wrongType(file: String, field: String, expected: String)
    /// A required field is absent (or null).
    case missingField(file: String, field: String)
    /// A `model_type` this package does not run.
    case unsupportedModelType(file: String, modelType: String)
    /// A feature switch with a value the model code does not implement (e.g. `hidden_act`, `rope_type`).
    case unsupportedValue(file: String, field: String, value: String)
    /// Values that are individually well-typed but inconsistent. `file` is nil from `validate()` alone.
    case invalidValue(file: String?, field: String, reason: String)

    public var description: String {
        switch self {
        case .directoryNotFound(let path): return "\(path): no such model directory"
        case .fileNotFound(let path): return "\(path): no such file"
        case let .unreadable(path, reason): return "\(path): cannot read (\(reason))"
        case let .invalidJSON(file, reason): return "\(file): invalid JSON: \(reason)"
        case let .wrongType(file, field, expected): return "\(file): field \(field) must be \(expected)"
        case let .missingField(file, field): return "\(file): missing required field \(field)"
        case let .unsupportedModelType(file, type):
            let known = Qwen35Config.supportedModelTypes.joined(separator: ", ")
            return "\(file): unsupported model_type \"\(type)\" (supported: \(known))"
        case let .unsupportedValue(file, field, value): return "\(file): unsupported \(field) \(value)"
        case let .invalidValue(file, field, reason): return (file.map { "\($0): " } ?? "") + "field \(field): \(reason)"
        }
    }
}

extension Qwen35Config {
    /// The `model_type`s this loader accepts: released multimodal wrappers and flat text exports.
    public static let supportedModelTypes = ["qwen3_5", "qwen3_5_moe", "qwen3_5_text", "qwen3_5_moe_text"]

    /// Whether the config is the released multimodal shape (weights under `model.language_model.`).
    public var isMultimodalWrapper: Bool { modelType == "qwen3_5" || modelType == "qwen3_5_moe" }

    /// Reads and validates `directory/config.json`.
    public static func load(directory: URL) throws -> Qwen35Config {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Qwen35ConfigError.directoryNotFound(path: directory.path)
        }
        let url = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { throw Qwen35ConfigError.fileNotFound(path: url.path) }
        let data: Data
        do { data = try InputFile.read(url.path) } catch let e as InputFileError {
            throw Qwen35ConfigError.unreadable(path: url.path, reason: e.reason)
        }
        return try load(data: data, source: url.path)
    }

    /// Parses and validates config JSON; `source` names the file in errors.
    public static func load(data: Data, source: String) throws -> Qwen35Config {
        let tree: JSONValue
        do { tree = try JSONValue.parse(data) } catch {
            throw Qwen35ConfigError.invalidJSON(file: source, reason: "\(error)")
        }
        let outer: RawOuter
        let flat: RawText
        do {
            outer = try JSONDecoder().decode(RawOuter.self, from: data)
            flat = try JSONDecoder().decode(RawText.self, from: data)
        } catch let e as DecodingError {
            if case .dataCorrupted(let c) = e, c.codingPath.isEmpty, let field = nonIntegerField(in: tree) {
                // Foundation reports 64.5 for an Int as "not valid JSON" without a path; name the field.
                throw Qwen35ConfigError.wrongType(file: source, field: field, expected: "an integer")
            }
            throw Self.translate(e, file: source)
        }
        let config = try build(outer: outer, flat: flat, file: source)
        do { try config.validate() } catch Qwen35ConfigError.invalidValue(_, let field, let reason) {
            throw Qwen35ConfigError.invalidValue(file: source, field: field, reason: reason)
        }
        return config
    }

    /// The largest value accepted for each size, far above any released Qwen3.5 (397B-A17B: hidden 4096,
    /// 60 layers, 512 experts, vocab 248320) yet small enough that shapes cannot overflow and a hostile config
    /// cannot make the loader allocate terabytes before a tensor is read.
    public static let sizeLimits: [String: Int] = [
        "vocab_size": 1 << 22, "hidden_size": 1 << 16, "num_hidden_layers": 1024, "max_position_embeddings": 1 << 24,
        "num_attention_heads": 1024, "num_key_value_heads": 1024, "head_dim": 4096,
        "linear_num_key_heads": 1024, "linear_num_value_heads": 1024, "linear_key_head_dim": 4096,
        "linear_value_head_dim": 4096, "linear_conv_kernel_dim": 64, "intermediate_size": 1 << 20,
        "num_experts": 4096, "num_experts_per_tok": 4096, "moe_intermediate_size": 1 << 20,
        "shared_expert_intermediate_size": 1 << 20,
    ]

    /// Checks that the values fit together (also useful for configs built in code, e.g. tiny test models).
    public func validate() throws {
        func fail(_ field: String, _ reason: String) -> Qwen35ConfigError { .invalidValue(file: nil, field: field, reason: reason) }
        guard Self.supportedModelTypes.contains(modelType) else { throw fail("model_type", "unsupported \"\(modelType)\"") }
        let positive: [(String, Int)] = [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("max_position_embeddings", maxPositionEmbeddings),
            ("num_attention_heads", numAttentionHeads), ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim),
            ("linear_num_key_heads", linearNumKeyHeads), ("linear_num_value_heads", linearNumValueHeads),
            ("linear_key_head_dim", linearKeyHeadDim), ("linear_value_head_dim", linearValueHeadDim),
            ("linear_conv_kernel_dim", linearConvKernelDim),
        ]
        for (name, v) in positive where v <= 0 { throw fail(name, "must be positive, found \(v)") }
        // Upper bounds before any arithmetic: with every size within them, each shape product below fits in
        // Int (the largest, vocab × hidden and experts × 2·moe_intermediate × hidden, stay under 2^50).
        let bounded = positive + [("intermediate_size", intermediateSize ?? 1), ("num_experts", numExperts ?? 1),
                                  ("num_experts_per_tok", numExpertsPerTok ?? 1), ("moe_intermediate_size", moeIntermediateSize ?? 1),
                                  ("shared_expert_intermediate_size", sharedExpertIntermediateSize ?? 1)]
        for (name, v) in bounded {
            if let limit = Self.sizeLimits[name], v > limit { throw fail(name, "must be at most \(limit), found \(v)") }
        }
        guard layerTypes.count == numHiddenLayers else {
            throw fail("layer_types", "has \(layerTypes.count) entries but num_hidden_layers is \(numHiddenLayers)")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw fail("num_key_value_heads", "\(numKeyValueHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
        guard linearNumValueHeads % linearNumKeyHeads == 0 else {
            throw fail("linear_num_key_heads", "\(linearNumKeyHeads) does not divide linear_num_value_heads \(linearNumValueHeads)")
        }
        guard rmsNormEps > 0, rmsNormEps.isFinite else { throw fail("rms_norm_eps", "must be positive, found \(rmsNormEps)") }
        guard ropeTheta > 0, ropeTheta.isFinite else { throw fail("rope_theta", "must be positive, found \(ropeTheta)") }
        // R = D · factor must be a whole, even number of dims in (0, D] (RoPE rotates pairs).
        let r = Double(headDim) * partialRotaryFactor
        guard partialRotaryFactor > 0, partialRotaryFactor <= 1, r == r.rounded(), Int(r) % 2 == 0 else {
            throw fail("partial_rotary_factor", "\(partialRotaryFactor) × head_dim \(headDim) is not an even number of rotary dims")
        }
        let moeType = modelType.contains("moe")
        if moeType {
            let fields: [(String, Int?)] = [
                ("num_experts", numExperts), ("num_experts_per_tok", numExpertsPerTok),
                ("moe_intermediate_size", moeIntermediateSize),
                ("shared_expert_intermediate_size", sharedExpertIntermediateSize),
            ]
            for (name, v) in fields {
                guard let v else { throw fail(name, "required for model_type \(modelType)") }
                guard v > 0 else { throw fail(name, "must be positive, found \(v)") }
            }
            guard numExpertsPerTok! <= numExperts! else {
                throw fail("num_experts_per_tok", "\(numExpertsPerTok!) exceeds num_experts \(numExperts!)")
            }
        } else {
            guard let i = intermediateSize else { throw fail("intermediate_size", "required for model_type \(modelType)") }
            guard i > 0 else { throw fail("intermediate_size", "must be positive, found \(i)") }
            guard numExperts == nil else { throw fail("num_experts", "set for dense model_type \(modelType)") }
        }
        try validateRoPEScaling()
        for id in eosTokenIds where id < 0 || id >= vocabSize {
            throw fail("eos_token_id", "\(id) is outside the vocabulary (vocab_size \(vocabSize))")
        }
    }
}

// MARK: - Building the config from the decoded keys

extension Qwen35Config {
    private static func build(outer: RawOuter, flat: RawText, file: String) throws -> Qwen35Config {
        guard let modelType = outer.modelType else { throw Qwen35ConfigError.missingField(file: file, field: "model_type") }
        let nested: Bool
        switch modelType {
        case "qwen3_5", "qwen3_5_moe": nested = true
        case "qwen3_5_text", "qwen3_5_moe_text": nested = false
        default: throw Qwen35ConfigError.unsupportedModelType(file: file, modelType: modelType)
        }
        let isMoE = modelType.contains("moe")
        let text = nested ? outer.textConfig : nil
        if let inner = text?.modelType, inner != (isMoE ? "qwen3_5_moe_text" : "qwen3_5_text") {
            throw Qwen35ConfigError.invalidValue(
                file: file, field: "text_config.model_type", reason: "\"\(inner)\" does not match model_type \"\(modelType)\"")
        }
        // `text_config` first, then the top level (flattened exports); errors name where it was expected.
        let prefix = text == nil ? "" : "text_config."
        func value<T>(_ key: KeyPath<RawText, T?>) -> T? { text?[keyPath: key] ?? flat[keyPath: key] }
        func required<T>(_ key: KeyPath<RawText, T?>, _ name: String) throws -> T {
            guard let v = value(key) else { throw Qwen35ConfigError.missingField(file: file, field: prefix + name) }
            return v
        }
        func unsupported(_ field: String, _ value: String) -> Qwen35ConfigError {
            .unsupportedValue(file: file, field: prefix + field, value: value)
        }

        let layers = try required(\.numHiddenLayers, "num_hidden_layers")
        let layerTypes: [LayerType]
        if let names = value(\.layerTypes) {
            layerTypes = try names.enumerated().map { i, name in
                guard let t = LayerType(rawValue: name) else { throw unsupported("layer_types[\(i)]", "\"\(name)\"") }
                return t
            }
        } else {
            // Bounded first: the schedule below is built from this count (10^9 once asked for 16 GB).
            let most = Qwen35Config.sizeLimits["num_hidden_layers"]!
            guard layers <= most else {
                throw Qwen35ConfigError.invalidValue(file: file, field: prefix + "num_hidden_layers", reason: "must be at most \(most), found \(layers)")
            }
            // ARCHITECTURE.md §1.3: layer i is full attention when (i+1) % interval == 0 (interval default 4).
            let interval = value(\.fullAttentionInterval) ?? 4
            guard interval > 0 else {
                throw Qwen35ConfigError.invalidValue(file: file, field: prefix + "full_attention_interval", reason: "must be positive, found \(interval)")
            }
            layerTypes = (0..<max(layers, 0)).map { ($0 + 1) % interval == 0 ? .fullAttention : .linearAttention }
        }

        if let act = value(\.hiddenAct), act != "silu" { throw unsupported("hidden_act", "\"\(act)\" (only silu)") }
        if value(\.attentionBias) == true { throw unsupported("attention_bias", "true (projections have no bias)") }
        if isMoE, let dense = value(\.mlpOnlyLayers), !dense.isEmpty {
            throw unsupported("mlp_only_layers", "\(dense) (every Qwen3.5 MoE layer is sparse)")
        }
        // A legacy `rope_scaling` replaces `rope_parameters` (transformers `convert_rope_params_to_dict`).
        let ropeField = value(\.ropeScaling) != nil ? "rope_scaling" : "rope_parameters"
        let rope = value(\.ropeScaling) ?? value(\.ropeParameters)
        let maxPositions = value(\.maxPositionEmbeddings) ?? 32768   // transformers' class default (released: 262144)
        let scaling = try ropeScaling(rope, maxPositions: maxPositions, topLevelOriginal: value(\.originalMaxPositionEmbeddings),
                                      file: file, field: prefix + ropeField)
        // rope_theta has no safe default: transformers' generic 10000 is wrong for every Qwen3.5 (§1.2, §8).
        guard let theta = rope?.ropeTheta ?? value(\.ropeTheta) else {
            throw Qwen35ConfigError.missingField(file: file, field: prefix + ropeField + ".rope_theta")
        }
        // __post_init__ default 0.25 [T1 L111].
        let factor = rope?.partialRotaryFactor ?? value(\.partialRotaryFactor) ?? 0.25
        // The FFN fields of the other kind are ignored (a MoE config may carry a stray intermediate_size).
        var dense: Int?, experts: Int?, perToken: Int?, expertWidth: Int?, sharedWidth: Int?
        if isMoE {
            experts = try required(\.numExperts, "num_experts")
            perToken = try required(\.numExpertsPerTok, "num_experts_per_tok")
            expertWidth = try required(\.moeIntermediateSize, "moe_intermediate_size")
            sharedWidth = try required(\.sharedExpertIntermediateSize, "shared_expert_intermediate_size")
        } else {
            dense = try required(\.intermediateSize, "intermediate_size")
        }

        return Qwen35Config(
            modelType: modelType,
            vocabSize: try required(\.vocabSize, "vocab_size"),
            hiddenSize: try required(\.hiddenSize, "hidden_size"),
            numHiddenLayers: layers,
            layerTypes: layerTypes,
            rmsNormEps: Float(value(\.rmsNormEps) ?? 1e-6),
            // §1.1: the outer object first (multimodal configs keep it there), then text_config.
            tieWordEmbeddings: outer.tieWordEmbeddings ?? text?.tieWordEmbeddings ?? false,
            maxPositionEmbeddings: maxPositions,
            numAttentionHeads: try required(\.numAttentionHeads, "num_attention_heads"),
            numKeyValueHeads: try required(\.numKeyValueHeads, "num_key_value_heads"),
            headDim: try required(\.headDim, "head_dim"),
            ropeTheta: theta,
            partialRotaryFactor: factor,
            linearNumKeyHeads: try required(\.linearNumKeyHeads, "linear_num_key_heads"),
            linearNumValueHeads: try required(\.linearNumValueHeads, "linear_num_value_heads"),
            linearKeyHeadDim: try required(\.linearKeyHeadDim, "linear_key_head_dim"),
            linearValueHeadDim: try required(\.linearValueHeadDim, "linear_value_head_dim"),
            linearConvKernelDim: value(\.linearConvKernelDim) ?? 4,
            intermediateSize: dense, numExperts: experts, numExpertsPerTok: perToken,
            moeIntermediateSize: expertWidth, sharedExpertIntermediateSize: sharedWidth,
            eosTokenIds: value(\.eosTokenId)?.ids ?? [], ropeScaling: scaling)
    }

    private static func translate(_ error: DecodingError, file: String) -> Qwen35ConfigError {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.reduce("") { s, k in
                if let i = k.intValue, k.stringValue.hasPrefix("Index") || k.stringValue == "\(i)" { return s + "[\(i)]" }
                return s.isEmpty ? k.stringValue : s + "." + k.stringValue
            }
        }
        switch error {
        case let .typeMismatch(type, c), let .valueNotFound(type, c):
            return .wrongType(file: file, field: path(c), expected: expectedName(type, c))
        case let .keyNotFound(key, c):
            return .missingField(file: file, field: (path(c).isEmpty ? "" : path(c) + ".") + key.stringValue)
        case let .dataCorrupted(c):
            if c.codingPath.isEmpty { return .invalidJSON(file: file, reason: c.underlyingError.map { "\($0)" } ?? c.debugDescription) }
            return .wrongType(file: file, field: path(c), expected: c.debugDescription)
        @unknown default:
            return .invalidJSON(file: file, reason: "\(error)")
        }
    }

    /// The first integer-typed key holding a fractional or out-of-range number (nil if the JSON is invalid).
    private static func nonIntegerField(in top: JSONValue) -> String? {
        func isInteger(_ v: JSONValue) -> Bool {
            switch v {
            case .bigInt: return false
            case .double(let d): return d == d.rounded() && abs(d) < 9.2e18
            default: return true  // other types get their own error
            }
        }
        func scan(_ object: JSONValue, _ prefix: String) -> String? {
            for key in RawText.integerKeys.sorted() {
                if case .array(let list)? = object[key] {
                    if let i = list.firstIndex(where: { !isInteger($0) }) { return "\(prefix)\(key)[\(i)]" }
                } else if let v = object[key], !isInteger(v) {
                    return prefix + key
                }
            }
            return nil
        }
        if let text = top["text_config"], case .object = text, let f = scan(text, "text_config.") { return f }
        return scan(top, "")
    }

    private static func expectedName(_ type: Any.Type, _ c: DecodingError.Context) -> String {
        if c.debugDescription.hasPrefix(TokenIDList.expectation) { return TokenIDList.expectation }
        switch type {
        case is Int.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is [String].Type, is [Int].Type: return "an array"
        default: return String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

// MARK: - Raw keys as written in config.json

/// The top level: the wrapper keys only (text keys are decoded separately as `RawText`).
private struct RawOuter: Decodable {
    var modelType: String?
    var textConfig: RawText?
    var tieWordEmbeddings: Bool?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", textConfig = "text_config", tieWordEmbeddings = "tie_word_embeddings"
    }
}

/// Text hyper-parameters (the keys of `text_config`, or of a flat text config). Everything optional here;
/// which keys are required is decided in `build`, so a missing key gets a message with its full path.
private struct RawText: Decodable {
    var modelType: String?
    var vocabSize: Int?
    var hiddenSize: Int?
    var numHiddenLayers: Int?
    var layerTypes: [String]?
    var fullAttentionInterval: Int?
    var rmsNormEps: Double?
    var tieWordEmbeddings: Bool?
    var maxPositionEmbeddings: Int?
    var hiddenAct: String?
    var attentionBias: Bool?
    var numAttentionHeads: Int?
    var numKeyValueHeads: Int?
    var headDim: Int?
    var ropeParameters: RawRope?
    var ropeScaling: RawRope?          // legacy key; replaces rope_parameters when set
    var originalMaxPositionEmbeddings: Int?   // top level (Phi-3 style); wins over rope_parameters' own
    var ropeTheta: Double?             // legacy top-level key
    var partialRotaryFactor: Double?   // legacy top-level key
    var linearNumKeyHeads: Int?
    var linearNumValueHeads: Int?
    var linearKeyHeadDim: Int?
    var linearValueHeadDim: Int?
    var linearConvKernelDim: Int?
    var intermediateSize: Int?
    var numExperts: Int?
    var numExpertsPerTok: Int?
    var moeIntermediateSize: Int?
    var sharedExpertIntermediateSize: Int?
    var mlpOnlyLayers: [Int]?
    var eosTokenId: TokenIDList?

    /// Keys decoded as integers (or integer lists), for error reporting.
    static let integerKeys: Set<String> = [
        "vocab_size", "hidden_size", "num_hidden_layers", "full_attention_interval", "max_position_embeddings",
        "num_attention_heads", "num_key_value_heads", "head_dim", "linear_num_key_heads", "linear_num_value_heads",
        "linear_key_head_dim", "linear_value_head_dim", "linear_conv_kernel_dim", "intermediate_size", "num_experts",
        "num_experts_per_tok", "moe_intermediate_size", "shared_expert_intermediate_size", "mlp_only_layers",
        "eos_token_id", "original_max_position_embeddings",
    ]

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers", layerTypes = "layer_types"
        case fullAttentionInterval = "full_attention_interval", rmsNormEps = "rms_norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings", maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act", attentionBias = "attention_bias"
        case numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads", headDim = "head_dim"
        case ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings", ropeTheta = "rope_theta", partialRotaryFactor = "partial_rotary_factor"
        case linearNumKeyHeads = "linear_num_key_heads", linearNumValueHeads = "linear_num_value_heads"
        case linearKeyHeadDim = "linear_key_head_dim", linearValueHeadDim = "linear_value_head_dim"
        case linearConvKernelDim = "linear_conv_kernel_dim", intermediateSize = "intermediate_size"
        case numExperts = "num_experts", numExpertsPerTok = "num_experts_per_tok"
        case moeIntermediateSize = "moe_intermediate_size"
        case sharedExpertIntermediateSize = "shared_expert_intermediate_size"
        case mlpOnlyLayers = "mlp_only_layers", eosTokenId = "eos_token_id"
    }
}

/// `eos_token_id` is an integer in some configs and a list in others.
private struct TokenIDList: Decodable {
    static let expectation = "an integer or a list of integers"
    var ids: [Int]

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let one = try? c.decode(Int.self) {
            ids = [one]
        } else if let many = try? c.decode([Int].self) {
            ids = many
        } else {
            throw DecodingError.typeMismatch(
                [Int].self, .init(codingPath: decoder.codingPath, debugDescription: Self.expectation))
        }
    }
}
