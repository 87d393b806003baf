import Foundation
import InferenceEngine
import Templating

/// The generation controls that chat and text completions share, read from a request body.
struct SamplingFields {
    var overrides = SamplingOverrides()
    /// `max_completion_tokens` (or the older `max_tokens`); nil: up to the end of the context.
    var maxTokens: Int?
    var stop: [String] = []
    var n = 1
    var stream = false
    var includeUsage = false

    /// Most choices one request may ask for.
    static let maxChoices = 16
    /// Most stop strings (OpenAI allows 4; vLLM more).
    static let maxStops = 16

    init(_ r: FieldReader) throws {
        overrides.temperature = try r.number("temperature", in: 0...2).map(Float.init)
        overrides.topP = try r.number("top_p").map(Float.init)
        if let k = try r.int("top_k", in: -1...Int(Int32.max)) { overrides.topK = max(0, k) }   // -1 = off (vLLM)
        overrides.minP = try r.number("min_p", in: 0...1).map(Float.init)
        overrides.presencePenalty = try r.number("presence_penalty", in: -2...2).map(Float.init)
        overrides.frequencyPenalty = try r.number("frequency_penalty", in: -2...2).map(Float.init)
        overrides.repetitionPenalty = try r.number("repetition_penalty").map(Float.init)
        if let p = overrides.topP, !(p > 0 && p <= 1) {
            throw APIError.invalid("'top_p' = \(p) is out of range: it must be in (0, 1].", param: "top_p")
        }
        if let p = overrides.repetitionPenalty, !(p > 0) {
            throw APIError.invalid("'repetition_penalty' = \(p) is out of range: it must be > 0.", param: "repetition_penalty")
        }
        if let seed = try r.int("seed") { overrides.seed = UInt64(bitPattern: Int64(seed)) }
        if let bias = try r.object("logit_bias") {
            for (key, _) in bias.members {
                guard let id = Int(key) else {
                    throw APIError.invalid("'logit_bias' keys must be token ids, got \"\(key)\".", param: "logit_bias")
                }
                overrides.logitBias[id] = Float(try bias.number(key, in: -100...100) ?? 0)
            }
        }
        let maxCompletion = try r.int("max_completion_tokens", in: 1...Int(Int32.max))
        maxTokens = try maxCompletion ?? r.int("max_tokens", in: 1...Int(Int32.max))
        stop = try r.strings("stop", max: Self.maxStops) ?? []
        n = try r.int("n", in: 1...Self.maxChoices) ?? 1
        stream = try r.bool("stream") ?? false
        if let options = try r.object("stream_options") {
            includeUsage = try options.bool("include_usage") ?? false
        }
    }

    /// The engine request: the model's defaults ← these values; `maxTokens` defaults to the rest of the context.
    func request(promptIDs: [Int], base: SamplingParameters, stopTokenIDs: Set<Int>, contextLength: Int,
                 choice: Int) -> GenerationRequest {
        var g = GenerationRequest(promptIDs: promptIDs)
        g.sampling = overrides.applied(to: base)
        // n choices from one seed differ: choice i draws from seed + i.
        g.sampling.seed &+= UInt64(choice)
        g.maxTokens = maxTokens ?? max(1, contextLength - promptIDs.count)
        g.stopStrings = stop
        g.stopTokenIDs = stopTokenIDs
        return g
    }
}
