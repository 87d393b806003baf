import XCTest
import Foundation
import Templating
@testable import InferenceEngine

/// The replies of `references/scripted.json` (a tiny model trained to write them; expected results are what
/// vLLM's qwen3 reasoning parser + qwen3_coder tool parser give), parsed whole and streamed every which way.
final class ReplyParserTests: XCTestCase {
    static let fixtures = PipelineTests.fixtures

    func testScriptedRepliesMatchTheReference() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("references/scripted.json"))
        let cases = try XCTUnwrap(JSONValue.parse(data)["cases"]?.arrayValue)
        XCTAssertEqual(cases.count, 10)
        for c in cases {
            let id = c["id"]?.stringValue ?? "?"
            var text = try XCTUnwrap(c["completion_text"]?.stringValue, id)
            XCTAssertTrue(text.hasSuffix("<|im_end|>"), id)
            text.removeLast("<|im_end|>".count)
            let request = try XCTUnwrap(c["request"], id)
            let thinking = request["options"]?["enable_thinking"]?.boolValue != false
            let tools = (request["tools"]?.arrayValue ?? []).compactMap(ToolSpec.init(openAITool:))
            let expected = try XCTUnwrap(c["expected"], id)

            let reply = parseAllWays(text, thinking: thinking, tools: tools)
            XCTAssertEqual(reply.reasoning, expected["reasoning_content"]?.stringValue, id)
            XCTAssertEqual(reply.content, expected["content"]?.stringValue, id)
            let calls = expected["tool_calls"]?.arrayValue ?? []
            XCTAssertEqual(reply.toolCalls.count, calls.count, id)
            for (i, (got, want)) in zip(reply.toolCalls, calls).enumerated() {
                XCTAssertEqual(got.id, "call_\(i)", id)
                XCTAssertEqual(got.name, want["name"]?.stringValue, id)
                let arguments = try XCTUnwrap(want["arguments"], id)
                // Type-strict (3 ≠ 3.0 ≠ "3"), and the text itself is the compact, ordered serialization.
                XCTAssertEqual(try JSONValue.parse(got.arguments), arguments, id)
                XCTAssertEqual(got.arguments, arguments.serialized(), id)
            }
        }
    }

    /// Typed arguments are the case where streaming buffers: `max_price` must stay a float, `nights` an int.
    func testTypedArgumentsKeepTheirJSONTypes() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("references/scripted.json"))
        let c = try XCTUnwrap(JSONValue.parse(data)["cases"]?.arrayValue?.first { $0["id"]?.stringValue == "pub-04-typed-args" })
        let tools = (c["request"]?["tools"]?.arrayValue ?? []).compactMap(ToolSpec.init(openAITool:))
        let text = String(try XCTUnwrap(c["completion_text"]?.stringValue).dropLast("<|im_end|>".count))
        let reply = ReplyParser.parse(text, startsInReasoning: false, tools: tools, makeID: { "id\($0)" })
        let arguments = try JSONValue.parse(try XCTUnwrap(reply.toolCalls.first).arguments)
        XCTAssertEqual(arguments["nights"], .int(3))
        XCTAssertEqual(arguments["max_price"], .double(149.5))
        XCTAssertEqual(arguments["breakfast"], .bool(true))
        XCTAssertEqual(arguments["room"], .string("double"))
    }
}
