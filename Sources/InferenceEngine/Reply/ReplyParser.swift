import Templating

/// Turns a Qwen3.5 reply, fed as arbitrary text deltas, into OpenAI-level pieces: reasoning, content and tool
/// calls with JSON arguments.
///
/// The format is the one Qwen3.5's chat template writes back into the prompt (`REASONING\n</think>\n\nCONTENT`,
/// then `<tool_call>\n<function=NAME>\n<parameter=ARG>\nVALUE\n</parameter>\n…</function>\n</tool_call>`
/// blocks); the results follow vLLM's `qwen3` reasoning parser and `qwen3_coder` tool parser, whitespace
/// normalised.
///
/// Every decision depends on the text only, never on where the deltas split it: text is consumed as soon as
/// it is decided and only what could still begin a tag (or trailing newlines that may turn out to be
/// separators) is held back. Hence `parse` (one delta) and any streaming of the same text fold to the same
/// `ParsedReply`.
///
/// Conventions decided here (the template and vLLM leave them open):
/// - Content is cut into segments by tool calls; each is trimmed of leading/trailing newlines, whitespace-only
///   ones vanish, and the rest are joined by a blank line (`"\n\n"`).
/// - Whitespace between the tags of a call is free (`<tool_call><function=f>` parses); `</function>` may be
///   missing before `</tool_call>` (vLLM accepts that too). A value ends only at `</parameter>`.
/// - A `<think>` the model writes at the very start of the reasoning is dropped (vLLM's reasoning parser
///   strips it); later ones, and `<think>` in content, are text.
/// - In a call that breaks, the value being read ends where the text ends; a held-back partial closing tag
///   and everything unread become content.
public struct ReplyParser: Sendable {
    /// The tag that ends the reasoning.
    public static let reasoningEnd = "</think>"

    enum Phase: Sendable {
        case reasoning
        case content
        /// Inside a call, between its parameters: expecting `<parameter=`, `</function>` (or `</tool_call>`).
        case parameters
        /// Inside a parameter's value; `atStart` until the newline after `<parameter=NAME>` is decided.
        case value(atStart: Bool)
        /// After `</function>`: expecting `</tool_call>`.
        case afterFunction
    }

    /// The call being parsed.
    struct Call: Sendable {
        let index: Int
        let tool: ToolSpec
        var parameterCount = 0
        var types = ArgumentTypes(schema: nil)
        /// The text of a value that is not a plain string, converted at `</parameter>`.
        var bufferedValue = ""
    }

    private let tools: [String: ToolSpec]
    private let makeID: @Sendable (Int) -> String
    var phase: Phase
    var unread = UnreadText()
    private var reasoningText = TrimmedChannel()
    /// Content segments are the texts between tool calls; non-empty ones are joined by a blank line.
    var contentText = TrimmedChannel(separator: "\n\n")
    var call: Call?
    public private(set) var toolCallCount = 0

    /// - Parameters:
    ///   - startsInReasoning: the prompt ended with `<think>\n` (thinking on), so output is reasoning until
    ///     `</think>`. Off: never split, a literal `</think>` is content.
    ///   - tools: the request's tools; empty turns tool-call parsing off (everything is content).
    ///   - makeID: the id of call `i`.
    public init(startsInReasoning: Bool, tools: [ToolSpec], makeID: @escaping @Sendable (Int) -> String) {
        phase = startsInReasoning ? .reasoning : .content
        var byName: [String: ToolSpec] = [:]
        for tool in tools where byName[tool.name] == nil { byName[tool.name] = tool }
        self.tools = byName
        self.makeID = makeID
    }

    /// Whether the text fed so far ends inside the reasoning (for counting reasoning tokens).
    public var inReasoning: Bool {
        if case .reasoning = phase { return true }
        return false
    }

    /// Feeds a delta of generated text; returns the events it completes.
    public mutating func feed(_ text: String) -> [ReplyEvent] {
        unread.append(text)
        var out = EventList()
        while step(final: false, into: &out) {}
        return out.events
    }

    /// End of generation: decides whatever was held back (a started call is closed so its arguments are valid
    /// JSON; unread text becomes content).
    public mutating func finish() -> [ReplyEvent] {
        var out = EventList()
        while step(final: true, into: &out) {}
        reasoningText.endSegment()
        contentText.endSegment()
        return out.events
    }

    /// The non-streamed result: the same parser fed the whole text, its events folded.
    public static func parse(_ text: String, startsInReasoning: Bool, tools: [ToolSpec],
                             makeID: @escaping @Sendable (Int) -> String) -> ParsedReply {
        var parser = ReplyParser(startsInReasoning: startsInReasoning, tools: tools, makeID: makeID)
        var fold = ReplyAccumulator()
        fold.add(parser.feed(text))
        fold.add(parser.finish())
        return fold.reply
    }

    /// One decision; false when nothing more can be decided without more text (or, when `final`, when all
    /// text is consumed).
    private mutating func step(final: Bool, into out: inout EventList) -> Bool {
        switch phase {
        case .reasoning: return reasoningStep(final: final, into: &out)
        case .content: return contentStep(final: final, into: &out)
        case .parameters: return parametersStep(final: final, into: &out)
        case .value(let atStart): return valueStep(atStart: atStart, final: final, into: &out)
        case .afterFunction: return afterFunctionStep(final: final, into: &out)
        }
    }

    private mutating func reasoningStep(final: Bool, into out: inout EventList) -> Bool {
        // vLLM's qwen3 reasoning parser drops a `<think>` the model writes itself; only its opening position
        // is plausible (the prompt already ends with `<think>\n`).
        if !reasoningText.hasStarted {
            let i = unread.skippingWhitespace(from: 0)
            switch unread.match(Tags.thinkOpen, at: i) {
            case .full:
                unread.drop(i + Tags.thinkOpen.count)
                return true
            case .partial where !final && i < unread.count:
                return false
            default: break
            }
        }
        if let end = unread.firstIndex(of: Tags.thinkClose) {
            out.reasoning(reasoningText.add(unread.take(end)))
            reasoningText.endSegment()
            unread.drop(Tags.thinkClose.count)
            phase = .content
            return true
        }
        let held = final ? 0 : unread.heldSuffixLength([Tags.thinkClose])
        out.reasoning(reasoningText.add(unread.take(unread.count - held)))
        return false
    }

    private mutating func contentStep(final: Bool, into out: inout EventList) -> Bool {
        guard !tools.isEmpty else {
            out.content(contentText.add(unread.take(unread.count)))
            return false
        }
        guard let open = unread.firstIndex(of: Tags.toolCallOpen) else {
            let held = final ? 0 : unread.heldSuffixLength([Tags.toolCallOpen])
            out.content(contentText.add(unread.take(unread.count - held)))
            return false
        }
        out.content(contentText.add(unread.take(open)))
        // `<tool_call>`, optional whitespace (the template writes one newline), `<function=NAME>`.
        var i = unread.skippingWhitespace(from: Tags.toolCallOpen.count)
        var header = UnreadText.Name.incomplete
        switch unread.match(Tags.functionOpen, at: i) {
        case .full:
            i += Tags.functionOpen.count
            header = unread.name(from: i)
        case .partial: break
        case .none: header = i < unread.count ? .malformed : .incomplete
        }
        switch header {
        case .incomplete where !final:
            return false
        case .name(let name, let end) where tools[name] != nil:
            contentText.endSegment()  // newlines before `<tool_call>` separate, they are not content
            unread.drop(end)
            startCall(tools[name]!, into: &out)
            return true
        default:
            // Unknown function or malformed XML: the tag is literal content; what follows is read again.
            out.content(contentText.add(unread.take(Tags.toolCallOpen.count)))
            return true
        }
    }

    private mutating func startCall(_ tool: ToolSpec, into out: inout EventList) {
        let index = toolCallCount
        toolCallCount += 1
        call = Call(index: index, tool: tool)
        out.append(.toolCallStart(index: index, id: makeID(index), name: tool.name))
        out.arguments(index, "{")
        phase = .parameters
    }
}
