import Foundation

/// Why a sequence ended.
public enum FinishReason: String, Sendable, Codable {
    /// EOS or a stop string.
    case stop
    /// `maxTokens` reached.
    case length
    /// The reply called tools and then ended (OpenAI `tool_calls`).
    case toolCalls = "tool_calls"
}

public struct Usage: Sendable, Equatable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Completion tokens spent before `</think>`.
    public var reasoningTokens: Int
    /// Prompt tokens served from a cache (0 until the prefix cache exists).
    public var cachedTokens: Int
    public init(promptTokens: Int, completionTokens: Int, reasoningTokens: Int = 0, cachedTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.reasoningTokens = reasoningTokens
        self.cachedTokens = cachedTokens
    }
}

/// log-probability of a chosen token and the top alternatives, from the model's raw distribution (as OpenAI
/// reports them), before penalties and temperature.
public struct TokenLogprob: Sendable, Equatable {
    public var id: Int
    public var logprob: Float
    public var top: [(id: Int, logprob: Float)]
    public init(id: Int, logprob: Float, top: [(id: Int, logprob: Float)]) {
        self.id = id
        self.logprob = logprob
        self.top = top
    }
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
    /// Raw text, or a chat reply (reasoning split, tool calls parsed).
    public var replyFormat = ReplyFormat.raw
    /// The request's tools: Qwen3.5 XML tool calls to these are parsed out of the content (empty = off).
    public var tools: [ToolSpec] = []
    /// Tool-call ids are this prefix + the call's index.
    public var toolCallIDPrefix = "call_"
    /// A grammar the answer must follow (after `</think>` when the reply starts in reasoning); nil = free.
    public var constraint: TokenConstraint? = nil
    /// Reasoning tokens allowed before `thinkEndTokenID` is forced (nil = unbounded); needs `startsInReasoning`.
    public var thinkingBudget: Int? = nil
    /// The id of `</think>` (forced when the budget is spent).
    public var thinkEndTokenID: Int? = nil

    public init(promptIDs: [Int]) { self.promptIDs = promptIDs }
}

/// A streamed piece of a tool call, in OpenAI's streaming shape: the first piece of a call carries `id` and
/// `name`, later ones `arguments` fragments whose concatenation is the call's JSON arguments.
public struct ToolCallDelta: Sendable, Equatable {
    public var index: Int
    public var id: String?
    public var name: String?
    public var arguments: String
    public init(index: Int, id: String? = nil, name: String? = nil, arguments: String = "") {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// What one step added to the reply.
public struct GenerationDelta: Sendable, Equatable {
    /// Answer text (after `</think>`, tool-call markup removed).
    public var content = ""
    /// Reasoning text (before `</think>`).
    public var reasoning = ""
    public var toolCalls: [ToolCallDelta] = []
    /// The ids that produced this delta (the stop id is not among them).
    public var tokenIDs: [Int] = []
    public var logprobs: [TokenLogprob] = []

    public init(content: String = "", reasoning: String = "", toolCalls: [ToolCallDelta] = []) {
        self.content = content
        self.reasoning = reasoning
        self.toolCalls = toolCalls
    }

    public var isEmpty: Bool { content.isEmpty && reasoning.isEmpty && toolCalls.isEmpty && tokenIDs.isEmpty }

    /// Appends `other`'s text and calls (a call's argument fragments merge into its last piece).
    public mutating func append(_ other: GenerationDelta) {
        content += other.content
        reasoning += other.reasoning
        for call in other.toolCalls {
            if call.id == nil, let last = toolCalls.last, last.index == call.index {
                toolCalls[toolCalls.count - 1].arguments += call.arguments
            } else {
                toolCalls.append(call)
            }
        }
        tokenIDs += other.tokenIDs
        logprobs += other.logprobs
    }
}

public enum GenerationEvent: Sendable {
    /// New text (answer and reasoning split at `</think>`, tool calls parsed) and the ids that produced it.
    case delta(GenerationDelta)
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
