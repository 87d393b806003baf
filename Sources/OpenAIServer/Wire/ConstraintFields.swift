import Foundation
import Grammar
import JSON
import InferenceEngine

/// What a request asks the output to follow, as a grammar plus a cache key: `response_format`
/// (`json_object`, `json_schema`), and for chat `tool_choice` (`"required"`, a named function) and
/// `tools[].function.strict`. Schema errors are 400s that name the keyword and the parameter.
struct ConstraintFields {
    var grammar: Grammar
    /// Canonical text of what the grammar was built from (the compiled-grammar cache key).
    var key: String

    /// `response_format`; nil for `text` or absent.
    static func responseFormat(_ r: FieldReader) throws -> ConstraintFields? {
        guard let format = try r.object("response_format") else { return nil }
        switch try format.string("type") {
        case nil, "text"?: return nil
        case "json_object"?:
            return ConstraintFields(grammar: try Grammar.jsonObject(), key: "json_object")
        case "json_schema"?:
            guard let spec = try format.object("json_schema") else {
                throw APIError.invalid("'response_format.json_schema' is required for type \"json_schema\".", param: "response_format.json_schema")
            }
            guard let schema = spec.value("schema") else {
                throw APIError.invalid("'response_format.json_schema.schema' is required.", param: "response_format.json_schema.schema")
            }
            let strict = try spec.bool("strict") ?? false
            do {
                let grammar = try JSONSchemaCompiler.grammar(schema, strict: strict)
                return ConstraintFields(grammar: grammar, key: "schema:\(strict):" + schema.serialized())
            } catch let e as GrammarError {
                throw APIError.invalid("'response_format.json_schema.schema': \(e.message).", param: "response_format.json_schema.schema")
            }
        case let t?:
            throw APIError.invalid("'response_format.type' \"\(t)\" is not supported (supported: \"text\", \"json_object\", \"json_schema\").", param: "response_format.type")
        }
    }

    /// The tool-call grammar for `tool_choice` "required" / a named function, or for `strict` tools under
    /// "auto"; nil when calls are free.
    static func toolCalls(_ tools: [(spec: ToolSpec, strict: Bool)], choice: ToolChoice, parallel: Bool) throws -> ConstraintFields? {
        let specs: [ToolCallGrammar.Tool]
        let mode: ToolCallGrammar.Mode
        switch choice {
        case .none: return nil
        case .auto:
            guard tools.contains(where: \.strict) else { return nil }
            specs = tools.map { ToolCallGrammar.Tool(name: $0.spec.name, parameters: $0.spec.parameters) }
            mode = .optional
        case .required:
            specs = tools.map { ToolCallGrammar.Tool(name: $0.spec.name, parameters: $0.spec.parameters) }
            mode = parallel ? .required : .one
        case .named(let name):
            guard let tool = tools.first(where: { $0.spec.name == name }) else {
                throw APIError.invalid("'tool_choice.function.name' \"\(name)\" is not one of the request's tools.", param: "tool_choice.function.name")
            }
            specs = [ToolCallGrammar.Tool(name: name, parameters: tool.spec.parameters)]
            mode = .one
        }
        do {
            let grammar = try ToolCallGrammar.grammar(tools: specs, mode: mode)
            let key = "tools:\(mode):" + JSONValue.array(specs.map { .array([.string($0.name), $0.parameters ?? .null]) }).serialized()
            return ConstraintFields(grammar: grammar, key: key)
        } catch let e as GrammarError {
            throw APIError.invalid("'tools': \(e.message).", param: "tools")
        }
    }

    enum ToolChoice: Equatable { case auto, none, required, named(String) }

    /// `thinking_budget` at the top level or in `chat_template_kwargs` (Qwen's API takes it top-level).
    static func thinkingBudget(_ r: FieldReader) throws -> Int? {
        if let top = try r.int("thinking_budget", in: 0...1_000_000) { return top }
        guard let kwargs = try r.object("chat_template_kwargs") else { return nil }
        return try kwargs.int("thinking_budget", in: 0...1_000_000)
    }
}

extension GenerationRequest {
    /// The request's constraint and thinking budget, from what the wire asked.
    mutating func constrain(_ constraint: TokenConstraint?, thinkingBudget: Int?, thinkEndTokenID: Int?) {
        self.constraint = constraint
        self.thinkingBudget = thinkingBudget
        self.thinkEndTokenID = thinkEndTokenID
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
