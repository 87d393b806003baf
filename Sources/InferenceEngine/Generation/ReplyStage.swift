import Foundation

/// How the generated text is returned.
public enum ReplyFormat: Sendable, Equatable {
    /// Exactly as generated (raw completions).
    case raw
    /// A chat reply: reasoning split at `</think>`, Qwen3.5 XML tool calls parsed, the template's separator
    /// newlines trimmed (`ReplyParser`).
    case chat
}

/// The last stage of `SequenceDecoder`: text → reply pieces, as a `GenerationDelta`.
struct ReplyStage {
    private var parser: ReplyParser?

    init(format: ReplyFormat, startsInReasoning: Bool, tools: [ToolSpec], callIDPrefix: String) {
        if format == .chat {
            parser = ReplyParser(startsInReasoning: startsInReasoning, tools: tools, makeID: { "\(callIDPrefix)\($0)" })
        }
    }

    var inReasoning: Bool { parser?.inReasoning ?? false }
    var toolCallCount: Int { parser?.toolCallCount ?? 0 }

    mutating func feed(_ text: String) -> GenerationDelta {
        guard parser != nil else { return GenerationDelta(content: text) }
        return Self.delta(parser!.feed(text))
    }

    mutating func finish() -> GenerationDelta {
        guard parser != nil else { return GenerationDelta() }
        return Self.delta(parser!.finish())
    }

    private static func delta(_ events: [ReplyEvent]) -> GenerationDelta {
        var d = GenerationDelta()
        for e in events {
            switch e {
            case .reasoning(let s): d.reasoning += s
            case .content(let s): d.content += s
            case .toolCallStart(let i, let id, let name): d.toolCalls.append(ToolCallDelta(index: i, id: id, name: name))
            case .toolCallArguments(let i, let fragment): d.append(GenerationDelta(toolCalls: [ToolCallDelta(index: i, arguments: fragment)]))
            }
        }
        return d
    }
}
