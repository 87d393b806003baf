import Foundation
import InferenceEngine
import Templating

/// OpenAI's response shapes, written as ordered JSON (field order as OpenAI sends it).
enum ResponseJSON {
    static func usage(_ u: Usage) -> JSONValue {
        .object([
            ("prompt_tokens", .int(u.promptTokens)),
            ("completion_tokens", .int(u.completionTokens)),
            ("total_tokens", .int(u.promptTokens + u.completionTokens)),
            ("prompt_tokens_details", .object([("cached_tokens", .int(u.cachedTokens))])),
            ("completion_tokens_details", .object([("reasoning_tokens", .int(u.reasoningTokens))])),
        ])
    }

    static func optional(_ s: String) -> JSONValue { s.isEmpty ? .null : .string(s) }

    /// Chat `logprobs.content` entries: token text, log-probability, exact bytes, and the top alternatives.
    static func chatLogprobs(_ lps: [TokenLogprob], _ service: any InferenceService) -> JSONValue {
        func entry(_ id: Int, _ lp: Float) -> [(String, JSONValue)] {
            let t = service.tokenText(id)
            return [("token", .string(t.text)), ("logprob", .double(Double(lp))), ("bytes", .array(t.bytes.map { .int(Int($0)) }))]
        }
        return .object([("content", .array(lps.map { lp in
            .object(entry(lp.id, lp.logprob) + [("top_logprobs", .array(lp.top.map { .object(entry($0.id, $0.logprob)) }))])
        }))])
    }

    /// Text-completion logprobs (`tokens`, `token_logprobs`, `top_logprobs` as token → logprob, `text_offset`).
    static func completionLogprobs(_ lps: [TokenLogprob], offset: Int, _ service: any InferenceService) -> JSONValue {
        var tokens: [JSONValue] = [], values: [JSONValue] = [], tops: [JSONValue] = [], offsets: [JSONValue] = []
        var at = offset
        for lp in lps {
            let text = service.tokenText(lp.id).text
            tokens.append(.string(text))
            values.append(.double(Double(lp.logprob)))
            // A map from token text: two ids can decode to the same text (e.g. U+FFFD for partial characters);
            // the more likely one is kept, so the object has no duplicate keys.
            var seen = Set<String>(), top: [(String, JSONValue)] = []
            for alt in lp.top {
                let key = service.tokenText(alt.id).text
                if seen.insert(key).inserted { top.append((key, .double(Double(alt.logprob)))) }
            }
            tops.append(.object(top))
            offsets.append(.int(at))
            at += text.utf16.count
        }
        return .object([("tokens", .array(tokens)), ("token_logprobs", .array(values)), ("top_logprobs", .array(tops)),
                        ("text_offset", .array(offsets))])
    }

    /// One streamed tool-call piece: the first carries id, type and name.
    static func toolCallDelta(_ c: ToolCallDelta) -> JSONValue {
        var m: [(String, JSONValue)] = [("index", .int(c.index))]
        if let id = c.id { m.append(("id", .string(id))); m.append(("type", .string("function"))) }
        var f: [(String, JSONValue)] = []
        if let name = c.name { f.append(("name", .string(name))) }
        f.append(("arguments", .string(c.arguments)))
        m.append(("function", .object(f)))
        return .object(m)
    }

    static func toolCall(id: String, name: String, arguments: String) -> JSONValue {
        .object([("id", .string(id)), ("type", .string("function")),
                 ("function", .object([("name", .string(name)), ("arguments", .string(arguments))]))])
    }
}
