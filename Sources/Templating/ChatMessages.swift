import Foundation

/// One piece of multimodal message content.
public enum ContentPart: Sendable, Equatable {
    case text(String)
    /// An image placeholder; `url` is kept as `image_url` / `image` when given.
    case image(url: String?)
    case video(url: String?)

    /// The dict the templates expect (`{"type": "text", "text": …}`, `{"type": "image"}`, …).
    public var json: JSONValue {
        switch self {
        case .text(let t): return .object([("type", .string("text")), ("text", .string(t))])
        case .image(let url):
            return .object([("type", .string("image"))] + (url.map { [("image", .string($0))] } ?? []))
        case .video(let url):
            return .object([("type", .string("video"))] + (url.map { [("video", .string($0))] } ?? []))
        }
    }
}

/// A tool call made by the assistant (OpenAI shape).
public struct ToolCall: Sendable, Equatable {
    public var id: String?
    public var name: String
    /// Arguments as a JSON object (the Qwen templates iterate `arguments|items`).
    public var arguments: JSONValue

    public init(id: String? = nil, name: String, arguments: JSONValue = .object([])) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// `{"id"?, "type": "function", "function": {"name", "arguments"}}`.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let id { members.append(("id", .string(id))) }
        members.append(("type", .string("function")))
        members.append(("function", .object([("name", .string(name)), ("arguments", arguments)])))
        return .object(members)
    }
}

/// A typed chat message that converts to the dict a chat template expects.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable { case system, user, assistant, tool }
    public enum Content: Sendable, Equatable {
        case text(String)
        case parts([ContentPart])
    }

    public var role: Role
    /// nil = JSON `null` content (e.g. an assistant turn that only calls tools).
    public var content: Content?
    public var reasoningContent: String?
    public var toolCalls: [ToolCall]?
    /// For `tool` messages: the id of the call this answers.
    public var toolCallID: String?
    /// For `tool` messages: the tool's name.
    public var name: String?

    public init(role: Role, content: Content?, reasoningContent: String? = nil, toolCalls: [ToolCall]? = nil,
                toolCallID: String? = nil, name: String? = nil) {
        self.role = role
        self.content = content
        self.reasoningContent = reasoningContent
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.name = name
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: .text(text)) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: .text(text)) }
    public static func assistant(_ text: String, reasoning: String? = nil, toolCalls: [ToolCall]? = nil) -> ChatMessage {
        ChatMessage(role: .assistant, content: .text(text), reasoningContent: reasoning, toolCalls: toolCalls)
    }
    public static func tool(_ text: String, callID: String? = nil, name: String? = nil) -> ChatMessage {
        ChatMessage(role: .tool, content: .text(text), toolCallID: callID, name: name)
    }

    /// `{"role", "content", "reasoning_content"?, "tool_calls"?, "tool_call_id"?, "name"?}`.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("role", .string(role.rawValue))]
        switch content {
        case .text(let t)?: members.append(("content", .string(t)))
        case .parts(let parts)?: members.append(("content", .array(parts.map(\.json))))
        case nil: members.append(("content", .null))
        }
        if let reasoningContent { members.append(("reasoning_content", .string(reasoningContent))) }
        if let toolCalls { members.append(("tool_calls", .array(toolCalls.map(\.json)))) }
        if let toolCallID { members.append(("tool_call_id", .string(toolCallID))) }
        if let name { members.append(("name", .string(name))) }
        return .object(members)
    }
}

/// A chat file / request: `{"messages": [...], "tools": [...] | null, "options": {...}}` (the shape of the
/// chat.json fixture cases). Options keys: `add_generation_prompt`, `enable_thinking`, anything else → extra.
public struct ChatRequest: Sendable {
    public var messages: [JSONValue]
    public var tools: [JSONValue]?
    public var options: ChatTemplateOptions

    public init(messages: [JSONValue], tools: [JSONValue]?, options: ChatTemplateOptions) {
        self.messages = messages
        self.tools = tools
        self.options = options
    }

    public init(messages: [ChatMessage], tools: [JSONValue]? = nil, options: ChatTemplateOptions = ChatTemplateOptions()) {
        self.init(messages: messages.map(\.json), tools: tools, options: options)
    }

    /// Validates the shape; errors name `source` and the offending field.
    public init(json: JSONValue, source: String) throws {
        func bad(_ field: String, _ why: String) -> ChatRequestError {
            ChatRequestError(source: source, field: field, message: why)
        }
        guard case .object = json else { throw bad("(root)", "expected a JSON object with \"messages\"") }
        guard let messagesValue = json["messages"] else { throw bad("messages", "missing") }
        guard case .array(let messages) = messagesValue else { throw bad("messages", "expected an array") }
        for (i, m) in messages.enumerated() {
            guard case .object = m else { throw bad("messages[\(i)]", "expected an object") }
            guard case .string? = m["role"] else { throw bad("messages[\(i)].role", "expected a string") }
        }
        var tools: [JSONValue]? = nil
        switch json["tools"] {
        case nil, .null?: break
        case .array(let t)?:
            for (i, tool) in t.enumerated() {
                guard case .object = tool else { throw bad("tools[\(i)]", "expected an object") }
            }
            tools = t
        default: throw bad("tools", "expected an array or null")
        }
        var options = ChatTemplateOptions()
        switch json["options"] {
        case nil, .null?: break
        case .object(let members)?:
            for (k, v) in members {
                switch k {
                case "add_generation_prompt":
                    guard case .bool(let b) = v else { throw bad("options.add_generation_prompt", "expected true or false") }
                    options.addGenerationPrompt = b
                case "enable_thinking":
                    switch v {
                    case .bool(let b): options.enableThinking = b
                    case .null: options.enableThinking = nil
                    default: throw bad("options.enable_thinking", "expected true, false or null")
                    }
                default:
                    options.extra.append((k, v))
                }
            }
        default: throw bad("options", "expected an object")
        }
        self.init(messages: messages, tools: tools, options: options)
    }
}

/// A malformed chat request file.
public struct ChatRequestError: Error, CustomStringConvertible, Sendable, Equatable {
    public var source: String
    public var field: String
    public var message: String
    public var description: String { "\(source): field \(field): \(message)" }
}
