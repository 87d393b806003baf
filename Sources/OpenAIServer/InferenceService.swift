import Foundation
import Grammar
import InferenceEngine
import Templating

/// A prompt ready for the engine.
public struct PreparedPrompt: Sendable {
    public var ids: [Int]
    /// The prompt ends inside `<think>` (thinking on): the reply starts as reasoning.
    public var startsInReasoning: Bool
    public init(ids: [Int], startsInReasoning: Bool) {
        self.ids = ids
        self.startsInReasoning = startsInReasoning
    }
}

/// A token as OpenAI's logprobs report it: its text (U+FFFD for a partial character) and its exact bytes.
public struct TokenText: Sendable, Equatable {
    public var text: String
    public var bytes: [UInt8]
    public init(text: String, bytes: [UInt8]) {
        self.text = text
        self.bytes = bytes
    }
}

/// What the HTTP layer needs from the engine: prompts in, event streams out. Controllers never see the model;
/// tests put a fake behind this.
public protocol InferenceService: Sendable {
    /// The model's name as served (`--served-model-name`, else the directory name).
    var modelID: String { get }
    var limits: ModelLimits { get }
    /// The model's `generation_config.json` defaults, under every request's values.
    var defaultSampling: SamplingParameters { get }
    /// End-of-turn / end-of-text ids.
    var stopTokenIDs: Set<Int> { get }
    var isReady: Bool { get }
    var stats: SchedulerStats { get }

    /// Renders a conversation with the model's chat template and tokenizes it (off the cooperative pool).
    func prepareChat(messages: [JSONValue], tools: [JSONValue]?, options: ChatTemplateOptions) async throws -> PreparedPrompt
    /// Tokenizes raw text (off the cooperative pool).
    func tokenize(_ text: String) async throws -> [Int]
    func tokenText(_ id: Int) -> TokenText
    func decode(_ ids: [Int]) -> String
    /// Validates and queues a request; throws `GenerationError` (400), `SchedulerError` (429 / 503).
    func generate(_ request: GenerationRequest) throws -> GenerationStream
    /// The grammar joined to the model's vocabulary (off the cooperative pool; cached by `key`).
    func constraint(_ grammar: Grammar, key: String) async throws -> TokenConstraint
    /// The id of `</think>` (forced by `thinking_budget`), nil when the tokenizer has none.
    var thinkEndTokenID: Int? { get }
}

extension InferenceService {
    public func constraint(_ grammar: Grammar, key: String) async throws -> TokenConstraint {
        throw APIError.invalid("constrained decoding (response_format, tool_choice) is not available with this engine.")
    }
    public var thinkEndTokenID: Int? { nil }
}

/// The service over a loaded model directory: the scheduler's engine thread for generation, a worker thread
/// for templates and tokenization.
public final class LocalInferenceService: InferenceService {
    public let modelID: String
    private let bundle: ModelBundle
    private let scheduler: Scheduler
    private let worker = SerialWorker(name: "qwenkit-prepare")
    private let constraints: ConstraintCache

    public init(bundle: ModelBundle, modelID: String, options: SchedulerOptions) {
        self.bundle = bundle
        self.modelID = modelID
        scheduler = bundle.makeScheduler(options: options)
        scheduler.start()
        constraints = ConstraintCache(tokenizer: bundle.tokenizer)
    }

    public var limits: ModelLimits { bundle.model.limits }
    public var defaultSampling: SamplingParameters { bundle.generationConfig.defaultSampling }
    public var stopTokenIDs: Set<Int> { bundle.eosTokenIDs }
    public var isReady: Bool { true }
    public var stats: SchedulerStats { scheduler.stats }
    public var memorySummary: String { scheduler.memorySummary }

    public func prepareChat(messages: [JSONValue], tools: [JSONValue]?, options: ChatTemplateOptions) async throws -> PreparedPrompt {
        guard bundle.template != nil else {
            throw APIError.invalid("This model has no chat template; send raw prompts to /v1/completions.", param: "messages")
        }
        let chat = bundle.chat
        return try await worker.run {
            let r = try chat.render(messages: messages, tools: tools, options: options)
            return PreparedPrompt(ids: r.ids, startsInReasoning: ChatFormatter.startsInReasoning(r.prompt))
        }
    }

    public func tokenize(_ text: String) async throws -> [Int] {
        let tokenizer = bundle.tokenizer
        return try await worker.run { tokenizer.encode(text) }
    }

    public func tokenText(_ id: Int) -> TokenText {
        let bytes = bundle.tokenizer.bytes([id])
        return TokenText(text: String(decoding: bytes, as: UTF8.self), bytes: bytes)
    }

    public func decode(_ ids: [Int]) -> String { bundle.tokenizer.decode(ids) }

    public func generate(_ request: GenerationRequest) throws -> GenerationStream {
        try scheduler.submit(request)
    }

    public func constraint(_ grammar: Grammar, key: String) async throws -> TokenConstraint {
        let cache = constraints
        return try await worker.run { cache.constraint(grammar, key: key) }
    }

    public var thinkEndTokenID: Int? { bundle.thinkEndTokenID }

    /// Stops accepting, drains running requests for up to `timeout`, stops the engine thread.
    public func shutdown(drainTimeout: Duration) async {
        await scheduler.shutdown(drainTimeout: drainTimeout)
    }
}
