import Templating

/// A function the request offers the model (`tools[i].function` of an OpenAI request): its name and the JSON
/// schema of its parameters, which decides how each `<parameter=…>` value is typed.
public struct ToolSpec: Sendable, Equatable {
    public var name: String
    /// The JSON schema object of `function.parameters` (nil: no schema, every value stays a string).
    public var parameters: JSONValue?

    public init(name: String, parameters: JSONValue? = nil) {
        self.name = name
        self.parameters = parameters
    }

    /// One entry of an OpenAI `tools` array (`{"type":"function","function":{"name":…,"parameters":…}}`); nil
    /// when it has no function name.
    public init?(openAITool tool: JSONValue) {
        guard let function = tool["function"], let name = function["name"]?.stringValue else { return nil }
        self.init(name: name, parameters: function["parameters"])
    }

    /// The schema of one parameter (`parameters.properties[name]`); nil when the schema does not name it.
    func schema(ofParameter name: String) -> JSONValue? {
        parameters?["properties"]?[name]
    }
}

/// One piece of a reply at the OpenAI level, as a streamed chat completion delivers it.
public enum ReplyEvent: Sendable, Equatable {
    /// Text of the reasoning (before `</think>`).
    case reasoning(String)
    /// Answer text.
    case content(String)
    /// A tool call begins; always before its arguments.
    case toolCallStart(index: Int, id: String, name: String)
    /// A fragment of call `index`'s JSON arguments text; the fragments concatenate to the whole text.
    case toolCallArguments(index: Int, fragment: String)
}

/// The non-streamed result of a reply.
public struct ParsedReply: Sendable, Equatable {
    /// Reasoning text; nil when there was none.
    public var reasoning: String?
    /// Answer text; nil when empty (e.g. a reply that only calls tools).
    public var content: String?
    public var toolCalls: [ParsedToolCall]

    public init(reasoning: String? = nil, content: String? = nil, toolCalls: [ParsedToolCall] = []) {
        self.reasoning = reasoning
        self.content = content
        self.toolCalls = toolCalls
    }
}

/// One tool call of a non-streamed reply.
public struct ParsedToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Compact JSON text of the arguments object.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// Folds streamed events into a `ParsedReply`; `ReplyParser.parse` uses it, so the non-streamed result is by
/// construction what a client that concatenates the stream sees.
public struct ReplyAccumulator: Sendable {
    private var reasoning = ""
    private var content = ""
    private var calls: [ParsedToolCall] = []

    public init() {}

    public mutating func add(_ events: [ReplyEvent]) {
        for event in events {
            switch event {
            case .reasoning(let text): reasoning += text
            case .content(let text): content += text
            case let .toolCallStart(index, id, name):
                precondition(index == calls.count, "tool calls start in index order")
                calls.append(ParsedToolCall(id: id, name: name, arguments: ""))
            case let .toolCallArguments(index, fragment):
                precondition(calls.indices.contains(index), "arguments before their call's start")
                calls[index].arguments += fragment
            }
        }
    }

    public var reply: ParsedReply {
        ParsedReply(reasoning: reasoning.isEmpty ? nil : reasoning, content: content.isEmpty ? nil : content,
                    toolCalls: calls)
    }
}
