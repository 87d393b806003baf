import Foundation
import InferenceEngine
import Templating

/// `POST /v1/chat/completions`, read and checked. Messages are normalised into what the chat template expects
/// (transformers' `apply_chat_template` input): `developer` becomes `system`, tool-call `arguments` strings
/// are decoded into objects (as vLLM does), text parts stay as the template reads them.
struct ChatCompletionRequest {
    var model: String?
    var messages: [JSONValue] = []
    /// Tools as the template renders them (nil: none offered).
    var tools: [JSONValue]?
    var toolSpecs: [ToolSpec] = []
    var parallelToolCalls = true
    var sampling: SamplingFields
    var logprobs = false
    var topLogprobs: Int?
    var templateOptions = ChatTemplateOptions()
    /// The grammar the answer must follow (response_format, forced or strict tool calls); nil = free.
    var constraint: ConstraintFields?
    /// Reasoning tokens before `</think>` is forced.
    var thinkingBudget: Int?

    static let maxTools = ServerLimits.maxTools

    init(_ r: FieldReader) throws {
        model = try r.string("model")
        sampling = try SamplingFields(r)
        guard let raw = try r.array("messages") else {
            throw APIError.invalid("'messages' is required.", param: "messages")
        }
        guard !raw.isEmpty else { throw APIError.invalid("'messages' must not be empty.", param: "messages") }
        messages = try raw.enumerated().map { try Self.message($1, path: "messages[\($0)]") }
        try readTools(r)
        logprobs = try r.bool("logprobs") ?? false
        topLogprobs = try r.int("top_logprobs", in: 0...20)
        if topLogprobs != nil && !logprobs {
            throw APIError.invalid("'top_logprobs' needs 'logprobs' set to true.", param: "top_logprobs")
        }
        try readTemplateOptions(r)
        thinkingBudget = try ConstraintFields.thinkingBudget(r)
        let format = try ConstraintFields.responseFormat(r)
        let calls = try ConstraintFields.toolCalls(strictTools, choice: toolChoice, parallel: parallelToolCalls)
        if format != nil, calls != nil, toolChoice != .auto {
            throw APIError.invalid("'response_format' and a forced 'tool_choice' cannot be combined: the reply is either JSON content or tool calls.", param: "response_format")
        }
        // A JSON answer format wins over optional strict calls (the answer is then content, not calls).
        constraint = format ?? calls
    }

    private var toolChoice = ConstraintFields.ToolChoice.auto
    private var strictTools: [(spec: ToolSpec, strict: Bool)] = []

    private mutating func readTools(_ r: FieldReader) throws {
        let list = try r.array("tools") ?? []
        guard list.count <= Self.maxTools else {
            throw APIError.invalid("'tools' has \(list.count) entries; at most \(Self.maxTools) are allowed.", param: "tools")
        }
        for (i, tool) in list.enumerated() {
            let t = try FieldReader(tool, path: "tools[\(i)]")
            guard try t.string("type") ?? "function" == "function" else {
                throw APIError.invalid("'tools[\(i)].type' must be \"function\".", param: "tools[\(i)].type")
            }
            guard let f = try t.object("function"), let name = try f.string("name"), !name.isEmpty else {
                throw APIError.invalid("'tools[\(i)].function.name' is required.", param: "tools[\(i)].function.name")
            }
            let parameters = try f.object("parameters")
            // The schema is rendered into every prompt by the chat template: bound it apart from the body.
            if let p = parameters, JSONValue.object(p.members).serialized().utf8.count > ServerLimits.maxToolSchemaBytes {
                throw APIError.invalid("'tools[\(i)].function.parameters' is larger than \(ServerLimits.maxToolSchemaBytes) bytes.",
                                       param: "tools[\(i)].function.parameters")
            }
            toolSpecs.append(ToolSpec(name: name, parameters: parameters.map { .object($0.members) }))
            strictTools.append((toolSpecs[toolSpecs.count - 1], try f.bool("strict") ?? false))
        }
        switch try r.value("tool_choice") {
        case nil, .string("auto")?: break
        case .string("none")?:
            toolSpecs = []   // the model is not offered tools, so it cannot call one
            toolChoice = .none
        case .string("required")?:
            guard !toolSpecs.isEmpty else { throw APIError.invalid("'tool_choice' \"required\" needs 'tools'.", param: "tool_choice") }
            toolChoice = .required
        case .object?:
            let c = try FieldReader(r.value("tool_choice")!, path: "tool_choice")
            guard try c.string("type") ?? "function" == "function", let f = try c.object("function"), let name = try f.string("name") else {
                throw APIError.invalid("'tool_choice' as an object must be {\"type\": \"function\", \"function\": {\"name\": …}}.", param: "tool_choice")
            }
            toolChoice = .named(name)
        default:
            throw APIError.invalid("'tool_choice' must be \"auto\", \"none\", \"required\" or an object.", param: "tool_choice")
        }
        tools = toolSpecs.isEmpty ? nil : list
        parallelToolCalls = try r.bool("parallel_tool_calls") ?? true
    }

    /// Thinking control as vLLM and llama.cpp take it (`chat_template_kwargs`), and Qwen's own top-level
    /// `enable_thinking`.
    private mutating func readTemplateOptions(_ r: FieldReader) throws {
        templateOptions.addGenerationPrompt = true
        if let kwargs = try r.object("chat_template_kwargs") {
            for (key, value) in kwargs.members {
                switch key {
                case "enable_thinking": templateOptions.enableThinking = try kwargs.bool(key)
                case "thinking_budget": break   // an engine control, read by ConstraintFields
                case "add_generation_prompt", "tools", "messages":
                    throw APIError.invalid("'chat_template_kwargs.\(key)' cannot be overridden.", param: "chat_template_kwargs.\(key)")
                default: templateOptions.extra.append((key, value))
                }
            }
        }
        if let on = try r.bool("enable_thinking") { templateOptions.enableThinking = on }
    }

    /// One message, checked and normalised for the template.
    static func message(_ value: JSONValue, path: String) throws -> JSONValue {
        let m = try FieldReader(value, path: path)
        guard let role = try m.string("role") else { throw APIError.invalid("'\(path).role' is required.", param: "\(path).role") }
        var out = m.members.filter { $0.0 != "role" && $0.0 != "content" && $0.0 != "tool_calls" }
        switch role {
        case "system", "developer", "user", "assistant", "tool": break
        default:
            throw APIError.invalid("'\(path).role' \"\(role)\" is not one of system, developer, user, assistant, tool.", param: "\(path).role")
        }
        out.insert(("role", .string(role == "developer" ? "system" : role)), at: 0)
        out.insert(("content", try content(m, path: path, required: role != "assistant")), at: 1)
        if role == "assistant", let calls = try m.array("tool_calls") {
            out.append(("tool_calls", .array(try calls.enumerated().map { try toolCall($1, path: "\(path).tool_calls[\($0)]") })))
        }
        return .object(out)
    }

    /// A string, or an array of text parts (images are refused by name).
    static func content(_ m: FieldReader, path: String, required: Bool) throws -> JSONValue {
        guard let c = m.value("content") else {
            if required { throw APIError.invalid("'\(path).content' is required.", param: "\(path).content") }
            return .null
        }
        switch c {
        case .string: return c
        case .array(let parts):
            return .array(try parts.enumerated().map { i, part in
                let p = try FieldReader(part, path: "\(path).content[\(i)]")
                switch try p.string("type") {
                case "text"?:
                    guard let text = try p.string("text") else {
                        throw APIError.invalid("'\(p.path).text' is required.", param: "\(p.path).text")
                    }
                    return .object([("type", .string("text")), ("text", .string(text))])
                case "image_url"?, "image"?, "input_image"?, "video"?, "video_url"?, "input_audio"?:
                    throw APIError.invalid("'\(p.path)': images, video and audio are not supported yet; send text parts only.", param: "\(p.path).type")
                default:
                    throw APIError.invalid("'\(p.path).type' must be \"text\".", param: "\(p.path).type")
                }
            })
        default:
            throw APIError.invalid("'\(path).content' must be a string or an array of content parts.", param: "\(path).content")
        }
    }

    /// `{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}` → arguments as an object.
    static func toolCall(_ value: JSONValue, path: String) throws -> JSONValue {
        let c = try FieldReader(value, path: path)
        guard let f = try c.object("function"), let name = try f.string("name") else {
            throw APIError.invalid("'\(path).function.name' is required.", param: "\(path).function.name")
        }
        var arguments = JSONValue.object([])
        if let text = try f.string("arguments") {
            guard let parsed = try? JSONValue.parse(text), case .object = parsed else {
                throw APIError.invalid("'\(path).function.arguments' must be a JSON object encoded as a string.", param: "\(path).function.arguments")
            }
            arguments = parsed
        } else if let object = try f.object("arguments") {
            arguments = .object(object.members)
        }
        var out: [(String, JSONValue)] = []
        if let id = try c.string("id") { out.append(("id", .string(id))) }
        out.append(("type", .string("function")))
        out.append(("function", .object([("name", .string(name)), ("arguments", arguments)])))
        return .object(out)
    }
}
