import Foundation
import Grammar
import HummingbirdTesting
import InferenceEngine
import JSON
@testable import OpenAIServer
import XCTest

extension ScriptService {
    /// The script's characters as the grammar vocabulary (the end id has no bytes).
    func constraint(_ grammar: Grammar, key: String) async throws -> TokenConstraint {
        TokenConstraint(CompiledGrammar(grammar, vocabulary: Vocabulary(tokens: model.characters.map { Array(String($0).utf8) } + [[]])))
    }
}

/// `response_format` and forced tool calls through the router: the scripted model "wants" other text, the
/// grammar makes the reply valid anyway.
extension RouterTests {
    func testResponseFormatJSONSchemaMakesTheContentValidate() async throws {
        let schema = #"{"type":"object","properties":{"city":{"enum":["Paris","Rome"]},"days":{"type":"integer","minimum":1,"maximum":9}},"required":["city","days"]}"#
        let body = #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 60, "response_format": {"type": "json_schema", "json_schema": {"name": "w", "strict": true, "schema": \#(schema)}}}"#
        try await app(ScriptService(script: #"Rome? {"city":"Paris","days":30}"#)).test(.router) { client in
            let r = try await self.post(client, "/v1/chat/completions", body)
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let choice = try self.json(r)["choices"]?[0]
            let content = try XCTUnwrap(choice?["message"]?["content"]?.stringValue)
            let doc = try JSONValue.parse(content)
            XCTAssertTrue([.string("Paris"), .string("Rome")].contains(doc["city"]), content)
            XCTAssertTrue((1...9).contains(doc["days"]?.intValue ?? 0), content)
            XCTAssertEqual(choice?["finish_reason"], .string("stop"))
        }
    }

    func testToolChoiceRequiredForcesASchemaValidCallAfterThinking() async throws {
        let tools = #"[{"type": "function", "function": {"name": "get_weather", "strict": true, "parameters": {"type": "object", "properties": {"city": {"enum": ["Paris", "Rome"]}, "days": {"type": "integer", "minimum": 1, "maximum": 9}}, "required": ["city", "days"]}}}]"#
        // "required" without parallel calls and a named function both mean exactly one call, then end-of-turn.
        for choice in [#""required", "parallel_tool_calls": false"#, #"{"type": "function", "function": {"name": "get_weather"}}"#] {
            let body = #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 200, "tools": \#(tools), "tool_choice": \#(choice), "chat_template_kwargs": {"enable_thinking": true}}"#
            try await app(ScriptService(script: Self.toolScript)).test(.router) { client in
                let r = try await self.post(client, "/v1/chat/completions", body)
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                let c = try self.json(r)["choices"]?[0]
                XCTAssertEqual(c?["finish_reason"], .string("tool_calls"), String(buffer: r.body))
                XCTAssertEqual(c?["message"]?["reasoning_content"], .string("let me check"))
                let call = c?["message"]?["tool_calls"]?[0]?["function"]
                XCTAssertEqual(call?["name"], .string("get_weather"))
                let args = try JSONValue.parse(call?["arguments"]?.stringValue ?? "")
                XCTAssertEqual(args["city"], .string("Paris"))   // the script has no R: Rome cannot be spelled
                XCTAssertTrue((1...9).contains(args["days"]?.intValue ?? 0), args.serialized())
            }
        }
    }

    func testConstraintErrorsNameTheProblem() async throws {
        let cases: [(String, String)] = [
            (#""response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "string", "contentMediaType": "x"}}}"#, "contentMediaType"),
            (#""response_format": {"type": "json_schema"}"#, "response_format.json_schema"),
            (#""tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}"#, "tool_choice.function.name"),
            (#""thinking_budget": -1"#, "thinking_budget"),
        ]
        try await app(ScriptService(script: "ok")).test(.router) { client in
            for (extra, word) in cases {
                let r = try await self.post(client, "/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], \#(extra)}"#)
                XCTAssertEqual(r.status, .badRequest, extra)
                XCTAssertTrue(String(buffer: r.body).contains(word), "\(String(buffer: r.body)) should name \(word)")
            }
        }
    }
}
