/// Splits streamed model output into reasoning and answer at `</think>` (Qwen3.5 prompts end with
/// `<think>\n` when thinking is on, so the output starts inside the reasoning). The tag may arrive split
/// across deltas; partial tags are held back until decided. Newlines right after `</think>` are dropped, as
/// the chat template does when it renders the answer (`content.lstrip('\n')`).
public struct ThinkingSplitter: Sendable {
    public static let openTag = "<think>"
    public static let closeTag = "</think>"
    public private(set) var inReasoning: Bool
    private var pending = ""
    private var trimNewlines = false

    public init(startsInReasoning: Bool) {
        inReasoning = startsInReasoning
    }

    /// Feeds a delta; returns the reasoning and content text it completes.
    public mutating func feed(_ delta: String) -> (reasoning: String, content: String) {
        pending += delta
        var reasoning = "", content = ""
        while true {
            let tag = inReasoning ? Self.closeTag : Self.openTag
            if let r = pending.range(of: tag) {
                let before = String(pending[..<r.lowerBound])
                if inReasoning { reasoning += before } else { content += emitContent(before) }
                pending = String(pending[r.upperBound...])
                inReasoning.toggle()
                if !inReasoning { trimNewlines = true }
                continue
            }
            // Hold back a suffix that could begin the tag.
            var hold = 0
            for n in stride(from: min(tag.count - 1, pending.count), through: 1, by: -1) where pending.hasSuffix(tag.prefix(n)) {
                hold = n; break
            }
            let splitAt = pending.index(pending.endIndex, offsetBy: -hold)
            let ready = String(pending[..<splitAt])
            pending = String(pending[splitAt...])
            if inReasoning { reasoning += ready } else { content += emitContent(ready) }
            return (reasoning, content)
        }
    }

    /// The held-back rest at the end of generation.
    public mutating func finish() -> (reasoning: String, content: String) {
        defer { pending = "" }
        return inReasoning ? (pending, "") : ("", emitContent(pending))
    }

    private mutating func emitContent(_ s: String) -> String {
        guard trimNewlines else { return s }
        let trimmed = s.drop { $0 == "\n" }
        if !trimmed.isEmpty { trimNewlines = false }
        return String(trimmed)
    }
}
