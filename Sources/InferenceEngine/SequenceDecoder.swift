import Foundation
import Grammar

/// Turns token ids into text incrementally (the tokenizer's streaming detokenizer conforms).
public protocol StreamingTextDecoder {
    /// Newly completed text for `id` (possibly empty while a character is split over tokens).
    mutating func append(_ id: Int) -> String
    /// Whatever is left at the end.
    mutating func finish() -> String
}

/// What one generated token produced: the id, the text pieces it completed, and whether the sequence ended.
public struct DecodeStep: Sendable {
    public var token: Int
    public var delta: GenerationDelta
    /// Set on the last step; the sequence must not be fed again.
    public var finish: FinishReason?
}

/// Everything that happens to one request after the logits, and nothing before them: sampling, logprobs,
/// detokenizing, stop ids and strings, the reasoning split. Pure and per request, so that one loop can drive
/// many of these beside one model (the scheduler), and the CLI drives one (`Generator`). It never calls the
/// model: `consume` takes the logits of the position after the last token and says which token comes next.
public struct SequenceDecoder {
    public let request: GenerationRequest
    private var text: any StreamingTextDecoder
    private var sampler: Sampler
    private var stops: StopStringMatcher
    private var reply: ReplyStage
    public private(set) var generated = 0
    /// Completion tokens produced while the reply was still inside `<think>` (OpenAI `reasoning_tokens`).
    public private(set) var reasoningTokens = 0
    /// While the reply is inside `<think>`: its raw text and where each token's text ends (UTF-8 offsets).
    private var reasoningText = ""
    private var reasoningTokenEnds: [Int] = []
    public private(set) var finishReason: FinishReason?
    /// The constraint's position (nil: unconstrained, and no per-token cost).
    private var matcher: GrammarMatcher?

    /// Validates the request against the model's limits before any compute; every problem is a thrown error
    /// that names the parameter (a request path never reaches a precondition).
    public init(request: GenerationRequest, limits: ModelLimits, text: any StreamingTextDecoder) throws {
        try request.validate(limits)
        self.request = request
        self.text = text
        sampler = Sampler(request.sampling, promptIDs: request.promptIDs)
        stops = StopStringMatcher(request.stopStrings)
        reply = ReplyStage(format: request.replyFormat, startsInReasoning: request.startsInReasoning, tools: request.tools, callIDPrefix: request.toolCallIDPrefix)
        matcher = request.constraint?.grammar.matcher()
    }

    /// The next id when it is decided before sampling: `</think>` once the thinking budget is spent.
    private var forcedToken: Int? {
        guard reply.inReasoning, let budget = request.thinkingBudget, let end = request.thinkEndTokenID,
              reasoningTokenEnds.count >= budget else { return nil }
        return end
    }

    /// Samples under the grammar: disallowed ids get -inf before penalties, bias and temperature (which keep
    /// -inf), so the constraint composes with every sampling control; end-of-turn only once the grammar is
    /// complete. The raw logits still give the logprobs.
    ///
    /// The mask is computed here, between two forwards, not on a worker while the next forward runs (issue 10
    /// asked for that "where possible"; the figures say it is not worth it): a CPU forward already keeps every
    /// core busy, so a worker would take its time from the forward rather than hide it, and the whole cost is
    /// small — mask median ~1 µs (a per-state cache hit), first visit of a state ~10–30 µs, applying the mask to
    /// the logits ~150 µs (`qwenkit bench --grammar`, loaded 2-core machine) against a ~68 ms decode step of
    /// bench-0.8b, i.e. under 0.3%.
    private mutating func sampleConstrained(_ logits: [Float], _ m: inout GrammarMatcher) -> Int {
        var masked = logits
        applyTokenMask(&masked, allowed: m.allowedTokens(), extra: m.isComplete ? request.stopTokenIDs : [])
        let id = sampler.sample(inPlace: &masked)
        if !request.stopTokenIDs.contains(id) {
            let ok = m.accept(token: id)
            assert(ok, "sampled token \(id) outside the grammar's mask")
        }
        return id
    }

    /// Chooses the next token from `logits` `[V]` and returns what it adds to the reply.
    public mutating func consume(_ logits: [Float]) -> DecodeStep {
        precondition(finishReason == nil, "SequenceDecoder fed after it finished")
        let id: Int
        if let forced = forcedToken {
            id = forced
            sampler.accept(id)
        } else if matcher != nil, !reply.inReasoning {
            if matcher!.isComplete && !matcher!.canContinue && request.stopTokenIDs.isEmpty {
                // Nothing may follow and there is no end-of-turn id to sample: stop without a token.
                return end(.stop, token: 0, tail: text.finish(), ids: [], logprobs: [])
            }
            // Moved out and back, so its growing tables stay uniquely referenced and are not copied per token.
            var m = matcher!
            matcher = nil
            id = sampleConstrained(logits, &m)
            matcher = m
        } else {
            id = sampler.sample(logits)
        }
        var lp: [TokenLogprob] = []
        if let n = request.topLogprobs {
            let ls = logSoftmax(logits)
            lp.append(TokenLogprob(id: id, logprob: ls[id], top: topIndices(ls, n).map { (id: $0, logprob: ls[$0]) }))
        }
        generated += 1
        if request.stopTokenIDs.contains(id) {
            return end(.stop, token: id, tail: text.finish(), ids: [], logprobs: lp)
        }
        let (piece, hitStop) = stops.feed(text.append(id))
        if hitStop { return end(.stop, token: id, tail: piece, ids: [id], logprobs: lp, flushStops: false) }
        if generated >= request.maxTokens {
            return end(.length, token: id, tail: piece + stops.feed(text.finish()).emit, ids: [id], logprobs: lp)
        }
        var delta = feedReply(piece)
        delta.tokenIDs = [id]
        delta.logprobs = lp
        return DecodeStep(token: id, delta: delta, finish: nil)
    }

    /// The usage so far (final once `finishReason` is set).
    public func usage() -> Usage {
        Usage(promptTokens: request.promptIDs.count, completionTokens: generated, reasoningTokens: reasoningTokens)
    }

    /// Feeds the reply stage, counting reasoning tokens: those whose text lies wholly before `</think>` (with
    /// Qwen's vocabulary the tag is one token; a finer tokenizer must not count the tag's pieces).
    private mutating func feedReply(_ piece: String) -> GenerationDelta {
        guard reply.inReasoning else { return reply.feed(piece) }
        reasoningText += piece
        reasoningTokenEnds.append(reasoningText.utf8.count)
        let delta = reply.feed(piece)
        if !reply.inReasoning {
            let tag = reasoningText.range(of: ReplyParser.reasoningEnd).map { reasoningText.utf8.distance(from: reasoningText.startIndex, to: $0.lowerBound) }
            reasoningTokens = reasoningTokenEnds.filter { $0 <= tag ?? reasoningText.utf8.count }.count
            reasoningText = ""
        }
        return delta
    }

    /// The last text (held-back stop prefixes, thinking and tool-call tags resolved).
    private mutating func end(_ reason: FinishReason, token: Int, tail: String, ids: [Int], logprobs: [TokenLogprob],
                              flushStops: Bool = true) -> DecodeStep {
        var delta = feedReply(flushStops ? tail + stops.finish() : tail)
        let wasReasoning = reply.inReasoning
        delta.append(reply.finish())
        if wasReasoning { reasoningTokens = reasoningTokenEnds.count }
        delta.tokenIDs = ids
        delta.logprobs = logprobs
        // A reply that called tools ends with `tool_calls` (OpenAI), whatever stopped it.
        finishReason = reply.toolCallCount > 0 && reason == .stop ? .toolCalls : reason
        return DecodeStep(token: token, delta: delta, finish: finishReason)
    }
}

/// The limits a request is checked against (from the model; the server adds its own on top).
public struct ModelLimits: Sendable, Equatable {
    public var vocabSize: Int
    public var contextLength: Int
    public init(vocabSize: Int, contextLength: Int) {
        self.vocabSize = vocabSize
        self.contextLength = contextLength
    }
}

extension GenerationRequest {
    /// Every check a request needs before it may reach the model, each naming the parameter.
    public func validate(_ limits: ModelLimits) throws {
        try sampling.validate(vocabSize: limits.vocabSize)
        guard !promptIDs.isEmpty else { throw GenerationError.emptyPrompt }
        guard maxTokens >= 1 else { throw GenerationError.invalidParameter("max_tokens = \(maxTokens): must be ≥ 1") }
        // Subtraction, not addition: a huge max_tokens must not wrap past the check.
        if promptIDs.count > limits.contextLength || maxTokens > limits.contextLength - promptIDs.count {
            throw GenerationError.promptTooLong(promptTokens: promptIDs.count, maxTokens: maxTokens, context: limits.contextLength)
        }
        if let n = topLogprobs, n < 0 || n > limits.vocabSize {
            throw GenerationError.invalidParameter("top_logprobs = \(n): must be in 0...\(limits.vocabSize)")
        }
        if let budget = thinkingBudget, budget < 0 {
            throw GenerationError.invalidParameter("thinking_budget = \(budget): must be ≥ 0")
        }
        if thinkingBudget != nil, thinkEndTokenID == nil {
            throw GenerationError.invalidParameter("thinking_budget needs the id of </think>, which this tokenizer lacks")
        }
        if let bad = promptIDs.first(where: { $0 < 0 || $0 >= limits.vocabSize }) {
            throw GenerationError.tokenOutOfRange(id: bad, vocabSize: limits.vocabSize)
        }
    }
}
