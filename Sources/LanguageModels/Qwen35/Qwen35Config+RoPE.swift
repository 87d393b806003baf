import Foundation
import GGUF
import Kernels

// `rope_parameters` of a Qwen3.5 config: the rope type and the parameters of its scaling. transformers
// (`modeling_rope_utils.py`, `RotaryEmbeddingConfigMixin`) fills defaults in `standardize_rope_params` and only
// warns on odd values; here a value the computation cannot use is an error naming the field.

/// The keys of `rope_parameters` (or of the legacy `rope_scaling`) as written in config.json.
struct RawRope: Decodable {
    var ropeType: String?
    var legacyType: String?    // "type", the pre-`rope_type` spelling
    var ropeTheta: Double?
    var partialRotaryFactor: Double?
    var mropeSection: [Int]?   // text positions are equal on all three axes, so sections do not matter here
    var factor: Double?
    // A number, checked to be whole in `ropeScaling` (an Int here would fail without naming the field).
    var originalMaxPositionEmbeddings: Double?
    var attentionFactor: Double?
    var betaFast: Double?
    var betaSlow: Double?
    var mscale: Double?
    var mscaleAllDim: Double?
    var truncate: Bool?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", legacyType = "type", ropeTheta = "rope_theta"
        case partialRotaryFactor = "partial_rotary_factor", mropeSection = "mrope_section", factor
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case attentionFactor = "attention_factor", betaFast = "beta_fast", betaSlow = "beta_slow"
        case mscale, mscaleAllDim = "mscale_all_dim", truncate
    }
}

extension Qwen35Config {
    /// The rope types QwenKit computes. `dynamic` is left out on purpose: transformers rescales its frequencies
    /// from the longest sequence the module has seen so far, so the angles of a token depend on earlier calls.
    public static let supportedRopeTypes = ["default", "linear", "yarn"]

    /// `rope`'s type and parameters; `field` is its path for errors (`text_config.rope_parameters`).
    /// `maxPositions` stands in for a missing `original_max_position_embeddings`, as in transformers; a
    /// top-level `original_max_position_embeddings` wins over the dict's (transformers' Phi-3 exception).
    static func ropeScaling(_ rope: RawRope?, maxPositions: Int, topLevelOriginal: Int?, file: String,
                            field: String) throws -> RoPEScaling {
        guard let rope else { return .none }
        let type = rope.ropeType ?? rope.legacyType ?? "default"
        func required(_ v: Double?, _ name: String) throws -> Double {
            guard let v else { throw Qwen35ConfigError.missingField(file: file, field: "\(field).\(name) (rope_type \(type))") }
            return v
        }
        switch type {
        case "default":
            return .none
        case "linear":
            return .linear(factor: try required(rope.factor, "factor"))
        case "yarn":
            let factor = try required(rope.factor, "factor")
            var original = maxPositions
            if let topLevelOriginal {
                original = topLevelOriginal
            } else if let o = rope.originalMaxPositionEmbeddings {
                guard o == o.rounded(), o > 0, o <= Double(sizeLimits["max_position_embeddings"]!) else {
                    throw Qwen35ConfigError.invalidValue(file: file, field: field + ".original_max_position_embeddings",
                                                         reason: "must be a positive whole number of positions, found \(o)")
                }
                original = Int(o)
            }
            // `rope_parameters_dict.get("beta_fast") or 32`: 0 falls back to the default too.
            return .yarn(.init(factor: factor, originalMaxPositions: original,
                               betaFast: rope.betaFast.flatMap { $0 == 0 ? nil : $0 } ?? 32,
                               betaSlow: rope.betaSlow.flatMap { $0 == 0 ? nil : $0 } ?? 1,
                               attentionFactor: rope.attentionFactor, mscale: rope.mscale, mscaleAllDim: rope.mscaleAllDim,
                               truncate: rope.truncate ?? true))
        case "dynamic":
            throw Qwen35ConfigError.unsupportedValue(
                file: file, field: field + ".rope_type",
                value: "\"dynamic\" (its frequencies depend on the longest sequence seen so far; supported: "
                    + supportedRopeTypes.joined(separator: ", ") + ")")
        default:
            throw Qwen35ConfigError.unsupportedValue(
                file: file, field: field + ".rope_type",
                value: "\"\(type)\" (supported: \(supportedRopeTypes.joined(separator: ", ")))")
        }
    }

    /// The scaling's numbers must give finite frequencies and a context within the size limit.
    func validateRoPEScaling() throws {
        func fail(_ field: String, _ reason: String) -> Qwen35ConfigError {
            .invalidValue(file: nil, field: "rope_parameters." + field, reason: reason)
        }
        func factorAtLeastOne(_ f: Double) throws {
            guard f.isFinite, f >= 1 else { throw fail("factor", "must be a finite number ≥ 1, found \(f)") }
        }
        switch ropeScaling {
        case .none: return
        case .linear(let factor): try factorAtLeastOne(factor)
        case .yarn(let y):
            try factorAtLeastOne(y.factor)
            guard y.originalMaxPositions > 0 else {
                throw fail("original_max_position_embeddings", "must be positive, found \(y.originalMaxPositions)")
            }
            // The ramp divides by log(base) and by the rotation counts; both must be usable.
            guard ropeTheta != 1 else { throw fail("rope_theta", "must not be 1 for yarn (the ramp divides by its log)") }
            guard y.betaFast.isFinite, y.betaSlow.isFinite, y.betaFast > 0, y.betaSlow > 0 else {
                throw fail("beta_fast", "beta_fast \(y.betaFast) and beta_slow \(y.betaSlow) must be positive")
            }
            for (name, v) in [("attention_factor", y.attentionFactor), ("mscale", y.mscale), ("mscale_all_dim", y.mscaleAllDim)] {
                if let v, !v.isFinite { throw fail(name, "must be finite, found \(v)") }
            }
            let a = y.resolvedAttentionFactor
            guard a.isFinite, a > 0 else { throw fail("attention_factor", "gives a cos/sin factor of \(a); must be positive") }
        }
        let most = Self.sizeLimits["max_position_embeddings"]!
        guard contextLength <= most else {
            throw fail("factor", "stretches the context to \(contextLength) positions, more than the \(most) accepted")
        }
    }
}

// MARK: - GGUF

extension Qwen35Config {
    /// `<arch>.rope.scaling.*` as llama.cpp's converter writes it from `rope_parameters` (`TextModel.set_gguf_parameters`):
    /// `type` none / linear / yarn, `factor`, `original_context_length`, and for YaRN the optional
    /// `yarn_beta_fast`, `yarn_beta_slow`, `yarn_attn_factor` (transformers' `attention_factor`). The keys
    /// llama.cpp adds on its own (`yarn_ext_factor`, `yarn_log_multiplier`) have no transformers twin here and
    /// are refused unless neutral.
    static func ropeScaling(gguf f: GGUFFile, arch: String, contextLength: Int) throws -> RoPEScaling {
        let prefix = "\(arch).rope.scaling."
        func refuse(_ key: String, _ why: String) -> Qwen35ConfigError {
            .unsupportedValue(file: f.path, field: prefix + key, value: why)
        }
        guard let raw = f.metadata[prefix + "type"] else { return .none }
        guard let type = raw.string else { throw refuse("type", "\(raw) (expected a string)") }
        if type == "none" { return .none }
        func number(_ key: String) -> Double? { f.metadata[prefix + key]?.double }
        switch type {
        case "linear":
            return .linear(factor: try f.double(prefix + "factor"))
        case "yarn":
            if let ext = number("yarn_ext_factor"), ext != 1 { throw refuse("yarn_ext_factor", "\(ext) (only 1)") }
            if let mul = number("yarn_log_multiplier"), mul != 0 { throw refuse("yarn_log_multiplier", "\(mul) (only 0)") }
            return .yarn(.init(factor: try f.double(prefix + "factor"),
                               originalMaxPositions: f.metadata[prefix + "original_context_length"]?.int ?? contextLength,
                               betaFast: number("yarn_beta_fast") ?? 32, betaSlow: number("yarn_beta_slow") ?? 1,
                               attentionFactor: number("yarn_attn_factor")))
        default:
            throw refuse("type", "\"\(type)\" (supported: none, linear, yarn)")
        }
    }
}

extension RoPEScaling {
    /// The `rope.scaling.*` metadata (without the `<arch>.` prefix) that reads back as this scaling; YaRN's
    /// `mscale` pair and `truncate: false` have no key in llama.cpp's set and are refused, not dropped.
    public func ggufMetadata() throws -> [(key: String, value: GGUFValue)] {
        switch self {
        case .none: return []
        case .linear(let factor):
            return [("rope.scaling.type", .string("linear")), ("rope.scaling.factor", .float32(Float(factor)))]
        case .yarn(let y):
            guard y.mscale == nil, y.mscaleAllDim == nil, y.truncate else {
                throw Qwen35ConfigError.unsupportedValue(file: "GGUF export", field: "rope_parameters",
                                                         value: "YaRN with mscale, mscale_all_dim or truncate false")
            }
            var out: [(key: String, value: GGUFValue)] = [
                ("rope.scaling.type", .string("yarn")), ("rope.scaling.factor", .float32(Float(y.factor))),
                ("rope.scaling.original_context_length", .uint32(UInt32(y.originalMaxPositions))),
                ("rope.scaling.yarn_beta_fast", .float32(Float(y.betaFast))),
                ("rope.scaling.yarn_beta_slow", .float32(Float(y.betaSlow))),
            ]
            if let a = y.attentionFactor { out.append(("rope.scaling.yarn_attn_factor", .float32(Float(a)))) }
            return out
        }
    }
}
