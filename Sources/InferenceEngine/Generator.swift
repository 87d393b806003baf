import Foundation
import LanguageModels

/// Turns token ids into text incrementally (the tokenizer's streaming detokenizer conforms).
public protocol StreamingTextDecoder {
    /// Newly completed text for `id` (possibly empty while a character is split over tokens).
    mutating func append(_ id: Int) -> String
    /// Whatever is left at the end.
    mutating func finish() -> String
}

public enum FinishReason: String, Sendable, Codable {
    /// EOS or a stop string.
    case stop
    /// `maxTokens` reached.
    case length
}

public struct Usage: Sendable, Equatable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
}

/// log-probability of a chosen token and the top alternatives, from the model's raw distribution (as OpenAI
/// reports them), before penalties and temperature.
public struct TokenLogprob: Sendable, Equatable {
    public var id: Int
    public var logprob: Float
    public var top: [(id: Int, logprob: Float)]
    public static func == (a: TokenLogprob, b: TokenLogprob) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.top.map(\.id) == b.top.map(\.id) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }
}

/// What to generate: prompt ids plus every control, in one value.
public struct GenerationRequest: Sendable {
    public var promptIDs: [Int]
    public var sampling = SamplingParameters()
    public var maxTokens = 256
    public var stopStrings: [String] = []
    /// Token ids that end generation (the model's EOS ids); not emitted as text.
    public var stopTokenIDs: Set<Int> = []
    /// Report log-probabilities with this many alternatives (nil = off).
    public var topLogprobs: Int? = nil
    /// The prompt ends inside `<think>`: output starts as reasoning until `</think>`.
    public var startsInReasoning = false

    public init(promptIDs: [Int]) { self.promptIDs = promptIDs }
}

public enum GenerationEvent: Sendable {
    /// New text (answer and reasoning split at `</think>`) and the ids that produced it.
    case delta(content: String, reasoning: String, tokenIDs: [Int], logprobs: [TokenLogprob])
    case finished(FinishReason, Usage, timing: GenerationTiming)
}

public struct GenerationTiming: Sendable, Equatable {
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    public init(prefillSeconds: Double = 0, decodeSeconds: Double = 0) {
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
    }
}

/// Synchronous generation loop (mlx-lm `generate_step` style): the prompt is prefilled once with the model's
/// chunked path, then one token per step through the caches. Runs on the caller's thread; wrap it on a
/// dedicated thread for async use (CPU work never runs on the cooperative pool).
public struct Generator<Decoder: StreamingTextDecoder>: Sequence, IteratorProtocol {
    let model: any LanguageModel
    let request: GenerationRequest
    var decoder: Decoder
    var sampler: Sampler
    var stops: StopStringMatcher
    var thinking: ThinkingSplitter
    var state: SequenceState
    var logits: [Float] = []
    var generated = 0
    /// Set when the last delta has gone out; the `.finished` event follows on the next call, then nil.
    var finishReason: FinishReason?
    var reportedFinish = false
    var prefillSeconds = 0.0, decodeSeconds = 0.0

    /// Validates the request (sampling values, prompt length against the context) before any compute.
    public init(model: any LanguageModel, request: GenerationRequest, decoder: Decoder) throws {
        try request.sampling.validate(vocabSize: model.vocabSize)
        guard !request.promptIDs.isEmpty else { throw GenerationError.emptyPrompt }
        guard request.maxTokens >= 1 else { throw GenerationError.invalidParameter("max_tokens = \(request.maxTokens): must be ≥ 1") }
        if request.promptIDs.count + request.maxTokens > model.maxContextLength {
            throw GenerationError.promptTooLong(promptTokens: request.promptIDs.count, maxTokens: request.maxTokens,
                                                context: model.maxContextLength)
        }
        if let n = request.topLogprobs, n < 0 || n > model.vocabSize {
            throw GenerationError.invalidParameter("top_logprobs = \(n): must be in 0...\(model.vocabSize)")
        }
        if let bad = request.promptIDs.first(where: { $0 < 0 || $0 >= model.vocabSize }) {
            throw GenerationError.model("prompt token id \(bad) is outside the vocabulary (0..<\(model.vocabSize))")
        }
        self.model = model
        self.request = request
        self.decoder = decoder
        sampler = Sampler(request.sampling, promptIDs: request.promptIDs)
        stops = StopStringMatcher(request.stopStrings)
        thinking = ThinkingSplitter(startsInReasoning: request.startsInReasoning)
        state = model.makeState()
    }

    /// The next event: deltas, then one `.finished`, then nil.
    public mutating func next() -> GenerationEvent? {
        if let reason = finishReason {
            // Built here rather than when the reason was set, so that the timing includes that last step.
            if reportedFinish { return nil }
            reportedFinish = true
            return .finished(reason, Usage(promptTokens: request.promptIDs.count, completionTokens: generated),
                             timing: GenerationTiming(prefillSeconds: prefillSeconds, decodeSeconds: decodeSeconds))
        }
        if logits.isEmpty {
            let t0 = DispatchTime.now().uptimeNanoseconds
            logits = model.forward(request.promptIDs, state: &state, allLogits: false)   // [1, V]
            prefillSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        // Decode time is the whole step (sampling, detokenizing, stop matching, the forward), what a user waits.
        let stepStart = DispatchTime.now().uptimeNanoseconds
        defer { decodeSeconds += Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9 }
        let id = sampler.sample(logits)
        var lp: [TokenLogprob] = []
        if let n = request.topLogprobs {
            let ls = logSoftmax(logits)
            let top = topIndices(ls, n).map { (id: $0, logprob: ls[$0]) }
            lp.append(TokenLogprob(id: id, logprob: ls[id], top: top))
        }
        generated += 1
        if request.stopTokenIDs.contains(id) {
            return finish(.stop, tail: decoder.finish(), ids: [], logprobs: [])
        }
        let (text, hitStop) = stops.feed(decoder.append(id))
        if hitStop { return finish(.stop, tail: text, ids: [id], logprobs: lp, flushStops: false) }
        if generated >= request.maxTokens {
            return finish(.length, tail: text + stops.feed(decoder.finish()).emit, ids: [id], logprobs: lp)
        }
        logits = model.forward([id], state: &state, allLogits: false)
        let split = thinking.feed(text)
        return .delta(content: split.content, reasoning: split.reasoning, tokenIDs: [id], logprobs: lp)
    }

    /// Emits the last text (held-back stop prefixes and thinking tags resolved); `.finished` follows.
    private mutating func finish(_ reason: FinishReason, tail: String, ids: [Int], logprobs: [TokenLogprob],
                                 flushStops: Bool = true) -> GenerationEvent {
        finishReason = reason
        var text = tail
        if flushStops { text += stops.finish() }
        var split = thinking.feed(text)
        let end = thinking.finish()
        split.reasoning += end.reasoning
        split.content += end.content
        return .delta(content: split.content, reasoning: split.reasoning, tokenIDs: ids, logprobs: logprobs)
    }
}
