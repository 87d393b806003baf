/// Where Qwen3.5 tensors live in a checkpoint (ARCHITECTURE.md §2), as named rules.
public struct Qwen35Checkpoint: Sendable {
    /// Prefix of the text backbone: `model.language_model.` in the released multimodal checkpoints,
    /// `model.` in flat text-only exports (`Qwen3_5ForCausalLM`).
    public let backbone: String

    public init(config: Qwen35Config) {
        backbone = config.isMultimodalWrapper ? "model.language_model." : "model."
    }

    public var embedTokens: String { backbone + "embed_tokens.weight" }
    public var finalNorm: String { backbone + "norm.weight" }
    /// Absent in tied checkpoints (0.8B/2B/4B): then the embedding matrix is the output projection.
    public let lmHead = "lm_head.weight"
    public func layer(_ i: Int) -> String { backbone + "layers.\(i)." }

    /// Tensors a text engine deliberately leaves unused: the vision tower and the multi-token-prediction head
    /// (transformers ignores both: `_keys_to_ignore_on_load_unexpected = [r"^mtp.*", r"^model.visual.*"]`).
    public static func isSkipped(_ name: String) -> Bool {
        name.hasPrefix("mtp.") || name.hasPrefix("model.visual.")
    }
}
