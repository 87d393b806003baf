import Foundation
import InferenceEngine
import LanguageModels
@testable import OpenAIServer
import Templating

/// A model that "generates" a fixed text one character per token: the vocabulary is the script's characters
/// plus an end id, and the logits always peak at the next character of the script after the prompt. With the
/// real scheduler, sequence decoder and reply parser on top, a test controls exactly what the server parses.
final class ScriptModel: LanguageModel, @unchecked Sendable {
    let characters: [Character]
    let ids: [Int]
    let end: Int
    let vocabSize: Int
    let maxContextLength: Int
    let eosTokenIds: [Int]
    /// Per forward, so that tests can keep a request running.
    let delay: Duration

    init(script: String, alphabet: String = "", context: Int = 4096, delay: Duration = .zero) {
        var chars: [Character] = []
        for c in alphabet + script where !chars.contains(c) { chars.append(c) }
        characters = chars
        ids = script.map { c in chars.firstIndex(of: c)! }
        end = chars.count
        vocabSize = chars.count + 1
        maxContextLength = context
        eosTokenIds = [chars.count]
        self.delay = delay
    }

    func makeState() -> SequenceState { SequenceState(layers: []) }

    /// Token k after the prompt is script[k], then the end id. `position` counts forwards here (the prompt is
    /// one), which only this fake reads.
    func forward(_ input: [Int], state: inout SequenceState, allLogits: Bool) -> [Float] {
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds)) }
        state.position += 1
        let k = state.position - 1
        var logits = [Float](repeating: 0, count: vocabSize)
        logits[k < ids.count ? ids[k] : end] = 10
        return logits
    }
}

/// Text ↔ ids over the model's characters.
struct ScriptText: StreamingTextDecoder {
    let characters: [Character]
    mutating func append(_ id: Int) -> String { id < characters.count ? String(characters[id]) : "" }
    mutating func finish() -> String { "" }
}

/// An `InferenceService` over the script model and the real scheduler. A "chat" renders as the last message's
/// text; thinking on adds nothing but makes the reply start as reasoning, like Qwen3.5's `<think>\n` prompt.
final class ScriptService: InferenceService, @unchecked Sendable {
    let modelID = "script"
    let model: ScriptModel
    let scheduler: Scheduler
    var isReady: Bool { true }

    init(script: String, options: SchedulerOptions = .init(), context: Int = 4096, delay: Duration = .zero) {
        model = ScriptModel(script: script, alphabet: "abcdefghijklmnopqrstuvwxyz ", context: context, delay: delay)
        let chars = model.characters
        scheduler = Scheduler(model: model, options: options) { ScriptText(characters: chars) }
        scheduler.start()
    }

    var limits: ModelLimits { model.limits }
    var defaultSampling: SamplingParameters { .greedy }
    var stopTokenIDs: Set<Int> { [model.end] }
    var stats: SchedulerStats { scheduler.stats }

    func prepareChat(messages: [JSONValue], tools: [JSONValue]?, options: ChatTemplateOptions) async throws -> PreparedPrompt {
        let text = messages.last?["content"]?.stringValue ?? "x"
        return PreparedPrompt(ids: try encode(text), startsInReasoning: options.enableThinking ?? false)
    }
    func tokenize(_ text: String) async throws -> [Int] { try encode(text) }
    func encode(_ text: String) throws -> [Int] {
        try text.map { c in
            guard let i = model.characters.firstIndex(of: c) else { throw APIError.invalid("character \(c) not in the script vocabulary") }
            return i
        }
    }
    func tokenText(_ id: Int) -> TokenText {
        let s = id < model.characters.count ? String(model.characters[id]) : ""
        return TokenText(text: s, bytes: Array(s.utf8))
    }
    func decode(_ ids: [Int]) -> String { String(ids.map { $0 < model.characters.count ? model.characters[$0] : "?" }) }
    func generate(_ request: GenerationRequest) throws -> GenerationStream {
        try scheduler.submit(request)
    }
}
