import Foundation
import InferenceEngine
import Templating

/// `POST /v1/completions`: a raw prompt (a string, token ids, or a list of either), no chat template.
struct CompletionRequest {
    enum Prompt { case text(String), ids([Int]) }
    var model: String?
    var prompts: [Prompt] = []
    var sampling: SamplingFields
    /// Alternatives per token (OpenAI's `logprobs` integer); nil = off.
    var logprobs: Int?
    var echo = false
    /// `response_format` (json_object / json_schema): the text must follow it from the first token.
    var constraint: ConstraintFields?

    /// Most prompts one request may carry.
    static let maxPrompts = 16

    init(_ r: FieldReader) throws {
        model = try r.string("model")
        sampling = try SamplingFields(r)
        logprobs = try r.int("logprobs", in: 0...20)
        echo = try r.bool("echo") ?? false
        constraint = try ConstraintFields.responseFormat(r)
        if echo && logprobs != nil {
            throw APIError.invalid("'echo' together with 'logprobs' (prompt log-probabilities) is not supported yet.", param: "echo")
        }
        if try r.string("suffix") != nil {
            throw APIError.invalid("'suffix' is not supported.", param: "suffix")
        }
        guard let p = r.value("prompt") else { throw APIError.invalid("'prompt' is required.", param: "prompt") }
        prompts = try Self.prompts(p)
        guard prompts.count <= Self.maxPrompts else {
            throw APIError.invalid("'prompt' has \(prompts.count) prompts; at most \(Self.maxPrompts) are allowed.", param: "prompt")
        }
        if prompts.count * sampling.n > SamplingFields.maxChoices {
            throw APIError.invalid("'prompt' × 'n' asks for \(prompts.count * sampling.n) choices; at most \(SamplingFields.maxChoices) are allowed.", param: "n")
        }
    }

    /// A string, an array of token ids, an array of strings, or an array of id arrays.
    static func prompts(_ p: JSONValue) throws -> [Prompt] {
        let bad = APIError.invalid("'prompt' must be a string, an array of token ids, or an array of either.", param: "prompt")
        switch p {
        case .string(let s): return [.text(s)]
        case .array(let items):
            guard !items.isEmpty else { throw APIError.invalid("'prompt' must not be empty.", param: "prompt") }
            if items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
                return items.map { .text($0.stringValue!) }
            }
            if let ids = tokenIDs(items) { return [.ids(ids)] }
            return try items.map { item in
                guard case .array(let inner) = item, let ids = tokenIDs(inner) else { throw bad }
                return .ids(ids)
            }
        default: throw bad
        }
    }

    private static func tokenIDs(_ items: [JSONValue]) -> [Int]? {
        var ids: [Int] = []
        for item in items {
            guard case .int(let i) = item else { return nil }
            ids.append(i)
        }
        return ids
    }
}
