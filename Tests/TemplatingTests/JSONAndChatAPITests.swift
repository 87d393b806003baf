import Foundation
import XCTest
@testable import Templating

final class JSONAndChatAPITests: XCTestCase {
    func testJSONParseKeepsOrderAndTypes() throws {
        let v = try JSONValue.parse(#"{"z": 1, "a": [true, null, 1.5, -2e3, "\u00e9\ud83d\ude00\n"], "m": {}}"#)
        XCTAssertEqual(v.objectValue?.map(\.0), ["z", "a", "m"])
        XCTAssertEqual(v["z"], .int(1))
        XCTAssertEqual(v["a"], .array([.bool(true), .null, .double(1.5), .double(-2000), .string("é😀\n")]))
        XCTAssertEqual(v.serialized(), #"{"z":1,"a":[true,null,1.5,-2000.0,"é😀\n"],"m":{}}"#)
        XCTAssertNotEqual(JSONValue.object([("a", .int(1)), ("b", .int(2))]), .object([("b", .int(2)), ("a", .int(1))]))
    }

    func testJSONErrorsNameLineAndColumn() {
        XCTAssertThrowsError(try JSONValue.parse("{\n  \"a\": 1,\n  \"b\" 2\n}")) { error in
            let e = error as? JSONParseError
            XCTAssertEqual(e?.line, 3)
            XCTAssertEqual(e?.column, 7)
        }
        XCTAssertThrowsError(try JSONValue.parse("[1, 2] x"))
        XCTAssertThrowsError(try JSONValue.parse("\"unterminated"))
        XCTAssertThrowsError(try JSONValue.parse("01"))
    }

    func testChatMessageJSONShape() throws {
        let call = ToolCall(id: "c1", name: "get_weather", arguments: .object([("city", .string("Paris"))]))
        let m = ChatMessage(role: .assistant, content: nil, reasoningContent: "think", toolCalls: [call])
        XCTAssertEqual(m.json.serialized(),
                       #"{"role":"assistant","content":null,"reasoning_content":"think","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]}"#)
        XCTAssertEqual(ChatMessage.tool("18C", callID: "c1").json.serialized(), #"{"role":"tool","content":"18C","tool_call_id":"c1"}"#)
        let parts = ChatMessage(role: .user, content: .parts([.image(url: nil), .text("hi")]))
        XCTAssertEqual(parts.json.serialized(), #"{"role":"user","content":[{"type":"image"},{"type":"text","text":"hi"}]}"#)
    }

    func testTypedMessagesRenderLikeJSON() throws {
        let dir = ChatFixtureTests.tokenizerDir.appendingPathComponent("qwen3.5")
        let template = try ChatTemplate.load(directory: dir)
        let typed = ChatRequest(messages: [.system("Be terse."), .user("Capital of France?")])
        let out = try template.render(messages: typed.messages, tools: nil, options: typed.options)
        XCTAssertEqual(out, "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n<think>\n")
        XCTAssertEqual(try template.render(chat: [ChatMessage.system("Be terse."), .user("Capital of France?")]), out)
        XCTAssertEqual(try JSONValue.parse(Data([0xEF, 0xBB, 0xBF] + Array("[1]".utf8))), .array([.int(1)]))
    }

    func testChatRequestValidationNamesField() {
        XCTAssertThrowsError(try ChatRequest(json: .object([("messages", .string("x"))]), source: "chat.json")) { error in
            XCTAssertEqual((error as? ChatRequestError)?.description, "chat.json: field messages: expected an array")
        }
        let badRole = JSONValue.object([("messages", .array([.object([("content", .string("hi"))])]))])
        XCTAssertThrowsError(try ChatRequest(json: badRole, source: "req")) { error in
            XCTAssertEqual((error as? ChatRequestError)?.field, "messages[0].role")
        }
        let badOption = JSONValue.object([("messages", .array([])), ("options", .object([("enable_thinking", .string("yes"))]))])
        XCTAssertThrowsError(try ChatRequest(json: badOption, source: "req")) { error in
            XCTAssertEqual((error as? ChatRequestError)?.field, "options.enable_thinking")
        }
    }

    func testSpecialTokensAndExtraOptions() throws {
        let t = try ChatTemplate(source: "{{ bos_token }}|{{ enable_thinking is defined }}|{{ add_vision_id }}|{{ add_generation_prompt }}")
        var options = ChatTemplateOptions()
        options.extra = [("add_vision_id", .bool(true))]
        XCTAssertEqual(try t.render(messages: [.object([])], tools: nil, options: options, specialTokens: ["bos_token": "<s>"]),
                       "<s>|False|True|True")
        XCTAssertThrowsError(try t.render(messages: [], tools: nil, options: options)) { error in
            guard case .invalidInput? = (error as? TemplateError)?.kind else { return XCTFail("\(error)") }
        }
    }

    func testLoadFromTokenizerConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("templating-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("tokenizer_config.json")
        try #"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ 1 }}"}]}"#
            .write(to: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ChatTemplate.load(directory: dir).render(variables: []), "D1")
        try #"{"chat_template": "S"}"#.write(to: config, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ChatTemplate.load(directory: dir).render(variables: []), "S")
        try "J".write(to: dir.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try ChatTemplate.load(directory: dir).render(variables: []), "J")
        try "E".write(to: dir.appendingPathComponent("other.jinja"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try ChatTemplate.load(directory: dir, explicitPath: "other.jinja").render(variables: []), "E")
        try #"{"bos_token": "x"}"#.write(to: config, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("chat_template.jinja"))
        XCTAssertThrowsError(try ChatTemplate.load(directory: dir)) { error in
            guard case .load? = (error as? TemplateError)?.kind else { return XCTFail("\(error)") }
        }
    }
}
