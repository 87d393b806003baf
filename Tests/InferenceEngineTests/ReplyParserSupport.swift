import XCTest
import Templating
@testable import InferenceEngine

/// Runs the parser over a text split into deltas at the given Character offsets, checking the stream's own
/// invariants (a call starts before its arguments, indices in order); returns the fold and the events.
func streamReply(_ text: String, splits: [Int], startsInReasoning: Bool, tools: [ToolSpec],
                 file: StaticString = #filePath, line: UInt = #line) -> (reply: ParsedReply, events: [ReplyEvent]) {
    let characters = Array(text)
    var parser = ReplyParser(startsInReasoning: startsInReasoning, tools: tools, makeID: { "call_\($0)" })
    var events: [ReplyEvent] = []
    var last = 0
    for cut in splits.sorted() + [characters.count] where cut >= last {
        events += parser.feed(String(characters[last..<cut]))
        last = cut
    }
    events += parser.finish()
    var started = 0
    for event in events {
        switch event {
        case .toolCallStart(let index, _, _):
            XCTAssertEqual(index, started, "calls start in order", file: file, line: line)
            started += 1
        case .toolCallArguments(let index, let fragment):
            XCTAssertLessThan(index, started, "arguments before their start", file: file, line: line)
            XCTAssertFalse(fragment.isEmpty, file: file, line: line)
            if index >= started { return (ParsedReply(), events) }
        default: break
        }
    }
    XCTAssertEqual(parser.toolCallCount, started, file: file, line: line)
    var fold = ReplyAccumulator()
    fold.add(events)
    return (fold.reply, events)
}

/// The whole-text parse, after checking that feeding it one Character at a time, at every single split point
/// and at a few random splits folds to the same reply.
func parseAllWays(_ text: String, thinking: Bool = false, tools: [ToolSpec] = [],
                  file: StaticString = #filePath, line: UInt = #line) -> ParsedReply {
    let whole = ReplyParser.parse(text, startsInReasoning: thinking, tools: tools, makeID: { "call_\($0)" })
    let n = text.count
    let ways: [(String, [Int])] = [("char by char", Array(0..<n))]
        + (0...n).map { ("split at \($0)", [$0]) }
        + (0..<5).map { seed -> (String, [Int]) in
            var rng = SplitRNG(state: UInt64(seed) &+ 0x9E37_79B9)
            let cuts = (0..<max(1, n / 4)).map { _ in Int(rng.next() % UInt64(n + 1)) }
            return ("random splits \(seed)", Array(Set(cuts)))
        }
    for (name, splits) in ways {
        let streamed = streamReply(text, splits: splits, startsInReasoning: thinking, tools: tools, file: file, line: line)
        if streamed.reply != whole {
            XCTFail("\(name): \(streamed.reply) != \(whole)", file: file, line: line)
            break
        }
    }
    return whole
}

/// Deterministic splits (SplitMix64).
struct SplitRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A call in the format the chat template writes.
func xmlCall(_ name: String, _ parameters: [(String, String)]) -> String {
    "<tool_call>\n<function=\(name)>\n"
        + parameters.map { "<parameter=\($0.0)>\n\($0.1)\n</parameter>\n" }.joined()
        + "</function>\n</tool_call>"
}

func tool(_ name: String, _ properties: [(String, JSONValue)] = []) -> ToolSpec {
    ToolSpec(name: name, parameters: .object([("type", .string("object")), ("properties", .object(properties))]))
}

func typed(_ type: String) -> JSONValue { .object([("type", .string(type))]) }
