import Foundation
import Templating

/// A tool the request offers: its name and the JSON schema of its parameters (`function.parameters`).
public struct ToolSpec: Sendable, Equatable {
    public var name: String
    public var parameters: JSONValue?
    public init(name: String, parameters: JSONValue?) {
        self.name = name
        self.parameters = parameters
    }
}

/// The reasoning / content / tool-call split of the generated text (placeholder over ThinkingSplitter until the
/// incremental tool-call parser lands).
struct ReplyStage {
    private var thinking: ThinkingSplitter
    init(startsInReasoning: Bool, tools: [ToolSpec], callIDPrefix: String) {
        thinking = ThinkingSplitter(startsInReasoning: startsInReasoning)
    }
    var inReasoning: Bool { thinking.inReasoning }
    var toolCallCount: Int { 0 }
    mutating func feed(_ text: String) -> GenerationDelta {
        let s = thinking.feed(text)
        return GenerationDelta(content: s.content, reasoning: s.reasoning)
    }
    mutating func finish() -> GenerationDelta {
        let s = thinking.finish()
        return GenerationDelta(content: s.content, reasoning: s.reasoning)
    }
}
