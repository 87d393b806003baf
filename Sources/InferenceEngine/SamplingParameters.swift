/// Every control over how the next token is chosen, in one value (OpenAI / vLLM / llama.cpp names).
/// Defaults come from the model's `generation_config.json`, overridden by the request.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 = greedy (argmax).
    public var temperature: Float = 1
    /// 0 = off.
    public var topK: Int = 0
    /// 1 = off.
    public var topP: Float = 1
    /// 0 = off.
    public var minP: Float = 0
    /// 1 = off (HF/llama.cpp style: divide positive logits, multiply negative ones, for seen tokens).
    public var repetitionPenalty: Float = 1
    /// OpenAI style: subtract once per seen token.
    public var presencePenalty: Float = 0
    /// OpenAI style: subtract per occurrence.
    public var frequencyPenalty: Float = 0
    /// Added to the logits of the given token ids.
    public var logitBias: [Int: Float] = [:]
    /// Same seed + same input = same output, on any run and machine.
    public var seed: UInt64 = 0

    public init() {}

    public static let greedy: SamplingParameters = { var p = SamplingParameters(); p.temperature = 0; return p }()

    /// Rejects values that make no sense, naming the parameter; with `vocabSize`, also logit-bias ids that name
    /// no token.
    public func validate(vocabSize: Int? = nil) throws {
        func bad(_ name: String, _ value: Any, _ rule: String) -> GenerationError {
            .invalidParameter("\(name) = \(value): \(rule)")
        }
        guard temperature.isFinite, temperature >= 0 else { throw bad("temperature", temperature, "must be ≥ 0") }
        guard topK >= 0 else { throw bad("top_k", topK, "must be ≥ 0 (0 = off)") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw bad("top_p", topP, "must be in (0, 1]") }
        guard minP.isFinite, minP >= 0, minP <= 1 else { throw bad("min_p", minP, "must be in [0, 1]") }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else { throw bad("repetition_penalty", repetitionPenalty, "must be > 0") }
        guard presencePenalty.isFinite, abs(presencePenalty) <= 2 else { throw bad("presence_penalty", presencePenalty, "must be in [-2, 2]") }
        guard frequencyPenalty.isFinite, abs(frequencyPenalty) <= 2 else { throw bad("frequency_penalty", frequencyPenalty, "must be in [-2, 2]") }
        for (id, b) in logitBias.sorted(by: { $0.key < $1.key }) {
            guard b.isFinite else { throw bad("logit_bias[\(id)]", b, "must be finite") }
            if let vocabSize, id < 0 || id >= vocabSize {
                throw GenerationError.invalidParameter("logit_bias: token id \(id) is outside the vocabulary (0..<\(vocabSize))")
            }
        }
    }
}

/// Sampling values one layer sets, nil meaning "keep what lies underneath". Layers stack as
/// `SamplingParameters()` ← the model's generation_config ← the request (CLI flags, an API body).
public struct SamplingOverrides: Sendable, Equatable {
    public var temperature: Float?
    public var topK: Int?
    public var topP: Float?
    public var minP: Float?
    public var repetitionPenalty: Float?
    public var presencePenalty: Float?
    public var frequencyPenalty: Float?
    public var seed: UInt64?
    /// Merged into what lies underneath, per token id.
    public var logitBias: [Int: Float] = [:]

    public init() {}

    public func applied(to base: SamplingParameters) -> SamplingParameters {
        var p = base
        if let temperature { p.temperature = temperature }
        if let topK { p.topK = topK }
        if let topP { p.topP = topP }
        if let minP { p.minP = minP }
        if let repetitionPenalty { p.repetitionPenalty = repetitionPenalty }
        if let presencePenalty { p.presencePenalty = presencePenalty }
        if let frequencyPenalty { p.frequencyPenalty = frequencyPenalty }
        if let seed { p.seed = seed }
        p.logitBias.merge(logitBias) { _, new in new }
        return p
    }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(String)
    case promptTooLong(promptTokens: Int, maxTokens: Int, context: Int)
    case emptyPrompt
    case tokenOutOfRange(id: Int, vocabSize: Int)
    case model(String)

    public var description: String {
        switch self {
        case .invalidParameter(let m): "invalid sampling parameter: \(m)"
        case .promptTooLong(let p, let m, let c):
            "prompt of \(p) tokens + max_tokens \(m) exceeds the model's context of \(c) tokens"
        case .emptyPrompt: "the prompt is empty"
        case .tokenOutOfRange(let id, let v): "prompt token id \(id) is outside the vocabulary (0..<\(v))"
        case .model(let m): m
        }
    }
}
