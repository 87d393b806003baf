import Foundation
import Hummingbird
import HummingbirdTesting
import InferenceEngine
@testable import OpenAIServer
import Templating
import XCTest

/// Every endpoint and error of the router, in process, over the real scheduler and reply parser with a
/// scripted model (`ScriptService`).
final class RouterTests: XCTestCase {
    static let toolScript = "let me check\n</think>\n\nsure\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>"
    static let tools: JSONValue = .array([.object([("type", .string("function")), ("function", .object([
        ("name", .string("get_weather")),
        ("parameters", .object([("type", .string("object")), ("properties", .object([
            ("city", .object([("type", .string("string"))])), ("days", .object([("type", .string("integer"))])),
        ]))])),
    ]))])])

    func app(_ service: any InferenceService, keys: [String] = [], maxBody: Int = 1 << 20) -> some ApplicationProtocol {
        var options = ServerOptions()
        options.apiKeys = keys
        options.limits.maxBodyBytes = maxBody
        return Application(router: buildRouter(service: service, metrics: ServerMetrics(), options: options))
    }

    func post(_ client: any TestClientProtocol, _ path: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        h[.contentType] = "application/json"
        return try await client.execute(uri: path, method: .post, headers: h, body: ByteBuffer(string: body))
    }

    func json(_ r: TestResponse) throws -> JSONValue { try JSONValue.parse(String(buffer: r.body)) }

    func chatBody(stream: Bool = false, extra: String = "") -> String {
        """
        {"model": "script", "messages": [{"role": "user", "content": "hi"}], "tools": \(Self.tools.serialized()),
         "chat_template_kwargs": {"enable_thinking": true}, "stream": \(stream)\(extra)}
        """
    }

    func testChatParsesReasoningContentAndToolCalls() async throws {
        try await app(ScriptService(script: Self.toolScript)).test(.router) { client in
            let r = try await self.post(client, "/v1/chat/completions", self.chatBody())
            XCTAssertEqual(r.status, .ok)
            let body = try self.json(r)
            let choice = body["choices"]?[0]
            XCTAssertEqual(body["object"], .string("chat.completion"))
            XCTAssertEqual(choice?["finish_reason"], .string("tool_calls"))
            XCTAssertEqual(choice?["message"]?["reasoning_content"], .string("let me check"))
            XCTAssertEqual(choice?["message"]?["content"], .string("sure"))
            let call = choice?["message"]?["tool_calls"]?[0]
            XCTAssertEqual(call?["type"], .string("function"))
            XCTAssertEqual(call?["function"]?["name"], .string("get_weather"))
            XCTAssertEqual(call?["function"]?["arguments"], .string(#"{"city":"Paris","days":3}"#))
            XCTAssertEqual(body["usage"]?["completion_tokens"], .int(Self.toolScript.count + 1))
            XCTAssertEqual(body["usage"]?["completion_tokens_details"]?["reasoning_tokens"], .int("let me check\n".count))
        }
    }

    /// SSE: role first, deltas, finish_reason last, then the usage chunk and [DONE]; reassembled = whole.
    func testStreamReassemblesToTheWholeReply() async throws {
        try await app(ScriptService(script: Self.toolScript)).test(.router) { client in
            let whole = try self.json(try await self.post(client, "/v1/chat/completions", self.chatBody()))
            let r = try await self.post(client, "/v1/chat/completions",
                                        self.chatBody(stream: true, extra: #", "stream_options": {"include_usage": true}"#))
            XCTAssertEqual(r.headers[.contentType], "text/event-stream")
            let events = String(buffer: r.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            XCTAssertEqual(events.last, "data: [DONE]")
            let chunks = try events.dropLast().map { e -> JSONValue in
                XCTAssertTrue(e.hasPrefix("data: "))
                return try JSONValue.parse(String(e.dropFirst(6)))
            }
            XCTAssertEqual(chunks.first?["choices"]?[0]?["delta"]?["role"], .string("assistant"))
            XCTAssertEqual(chunks.last?["choices"], .array([]))
            XCTAssertEqual(chunks.last?["usage"], whole["usage"])
            var content = "", reasoning = "", name = "", arguments = "", finish: JSONValue?
            for c in chunks.dropLast() {
                let choice = c["choices"]?[0]
                content += choice?["delta"]?["content"]?.stringValue ?? ""
                reasoning += choice?["delta"]?["reasoning_content"]?.stringValue ?? ""
                for call in choice?["delta"]?["tool_calls"]?.arrayValue ?? [] {
                    if let n = call["function"]?["name"]?.stringValue {
                        XCTAssertNotNil(call["id"]?.stringValue); XCTAssertTrue(name.isEmpty); name = n
                    }
                    arguments += call["function"]?["arguments"]?.stringValue ?? ""
                }
                if let f = choice?["finish_reason"], !f.isNull { XCTAssertNil(finish); finish = f }
            }
            let message = whole["choices"]?[0]?["message"]
            XCTAssertEqual(content, message?["content"]?.stringValue)
            XCTAssertEqual(reasoning, message?["reasoning_content"]?.stringValue)
            XCTAssertEqual(name, "get_weather")
            XCTAssertEqual(arguments, message?["tool_calls"]?[0]?["function"]?["arguments"]?.stringValue)
            XCTAssertEqual(finish, .string("tool_calls"))
        }
    }

    func testThinkingOffAndToolChoiceNoneLeaveTextAlone() async throws {
        try await app(ScriptService(script: "a </think> b")).test(.router) { client in
            let body = #"{"messages": [{"role": "user", "content": "hi"}], "chat_template_kwargs": {"enable_thinking": false}}"#
            let r = try self.json(try await self.post(client, "/v1/chat/completions", body))
            XCTAssertEqual(r["choices"]?[0]?["message"]?["content"], .string("a </think> b"))
            XCTAssertNil(r["choices"]?[0]?["message"]?["reasoning_content"])
        }
        try await app(ScriptService(script: Self.toolScript)).test(.router) { client in
            let r = try self.json(try await self.post(client, "/v1/chat/completions",
                                                      self.chatBody(extra: #", "tool_choice": "none""#)))
            XCTAssertNil(r["choices"]?[0]?["message"]?["tool_calls"])
            XCTAssertEqual(r["choices"]?[0]?["finish_reason"], .string("stop"))
            XCTAssertTrue(r["choices"]?[0]?["message"]?["content"]?.stringValue?.contains("<tool_call>") ?? false)
        }
    }

    func testCompletionsWithTokenIDsLogprobsEchoAndN() async throws {
        try await app(ScriptService(script: "hello world")).test(.router) { client in
            let r = try self.json(try await self.post(client, "/v1/completions", #"{"prompt": [0, 1], "logprobs": 2, "max_tokens": 5}"#))
            XCTAssertEqual(r["object"], .string("text_completion"))
            XCTAssertEqual(r["choices"]?[0]?["text"], .string("hello"))
            XCTAssertEqual(r["choices"]?[0]?["finish_reason"], .string("length"))
            XCTAssertEqual(r["choices"]?[0]?["logprobs"]?["tokens"]?.arrayValue?.count, 5)
            XCTAssertEqual(r["choices"]?[0]?["logprobs"]?["text_offset"], .array([0, 1, 2, 3, 4].map(JSONValue.int)))
            XCTAssertEqual(r["usage"]?["prompt_tokens"], .int(2))
            let e = try self.json(try await self.post(client, "/v1/completions", #"{"prompt": "ab", "echo": true, "n": 2, "max_tokens": 3}"#))
            XCTAssertEqual(e["choices"]?.arrayValue?.count, 2)
            XCTAssertEqual(e["choices"]?[1]?["text"], .string("abhel"))
            let s = try await self.post(client, "/v1/completions", #"{"prompt": "ab", "stream": true}"#)
            let texts = String(buffer: s.body).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
                .compactMap { try? JSONValue.parse(String($0.dropFirst(6)))["choices"]?[0]?["text"]?.stringValue }
            XCTAssertEqual(texts.joined(), "hello world")
        }
    }

    func testChatLogprobsCarryBytes() async throws {
        try await app(ScriptService(script: "hé")).test(.router) { client in
            let r = try self.json(try await self.post(client, "/v1/chat/completions",
                                                      #"{"messages": [{"role": "user", "content": "a"}], "logprobs": true, "top_logprobs": 2}"#))
            let entries = r["choices"]?[0]?["logprobs"]?["content"]?.arrayValue ?? []
            XCTAssertEqual(entries.count, 2)
            XCTAssertEqual(entries[1]["bytes"], .array([0xC3, 0xA9].map(JSONValue.int)))
            XCTAssertEqual(entries[1]["top_logprobs"]?.arrayValue?.count, 2)
        }
    }

    func testModelsHealthMetricsAndUnknownRoutes() async throws {
        try await app(ScriptService(script: "x")).test(.router) { client in
            let list = try self.json(try await client.execute(uri: "/v1/models", method: .get))
            XCTAssertEqual(list["data"]?[0]?["id"], .string("script"))
            do { let r = try await client.execute(uri: "/v1/models/script", method: .get); XCTAssertEqual(r.status, .ok) }
            let missing = try await client.execute(uri: "/v1/models/nope", method: .get)
            XCTAssertEqual(missing.status, .notFound)
            XCTAssertEqual(try self.json(missing)["error"]?["code"], .string("model_not_found"))
            do { let r = try await client.execute(uri: "/health", method: .get); XCTAssertEqual(r.status, .ok) }
            let route = try await client.execute(uri: "/v1/nothing", method: .get)
            XCTAssertEqual(route.status, .notFound)
            XCTAssertNotNil(try self.json(route)["error"]?["message"])
            _ = try await self.post(client, "/v1/completions", #"{"prompt": "a", "max_tokens": 1}"#)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            for name in ["qwenkit_requests_total", "qwenkit_prompt_tokens_total", "qwenkit_generation_tokens_total",
                         "qwenkit_time_to_first_token_seconds", "qwenkit_inter_token_latency_seconds",
                         "qwenkit_queue_depth", "qwenkit_running_sequences"] {
                XCTAssertTrue(metrics.contains(name), name)
            }
        }
    }

    /// 400s name the parameter; nothing crashes; the shape is OpenAI's.
    func testBadRequestsNameTheParameter() async throws {
        let cases: [(String, String, String?)] = [
            ("/v1/chat/completions", "{not json", nil),
            ("/v1/chat/completions", #"[1, 2]"#, nil),
            ("/v1/chat/completions", #"{"messages": "hi"}"#, "messages"),
            ("/v1/chat/completions", #"{"messages": []}"#, "messages"),
            ("/v1/chat/completions", #"{"messages": [{"role": "wizard", "content": "x"}]}"#, "messages[0].role"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": 5}]}"#, "messages[0].content"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}"#, "messages[0].content[0].type"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "temperature": "hot"}"#, "temperature"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "temperature": 5}"#, "temperature"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "top_p": 0}"#, "top_p"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "n": 0}"#, "n"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "max_tokens": 0}"#, "max_tokens"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "stop": [1]}"#, "stop"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "logit_bias": {"x": 1}}"#, "logit_bias"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "logit_bias": {"99999": 1}}"#, "logit_bias"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "top_logprobs": 2}"#, "top_logprobs"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "tool_choice": "required"}"#, "tool_choice"),
            ("/v1/chat/completions", #"{"messages": [{"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]}"#, "messages[0].tool_calls[0].function.arguments"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "a"}], "max_tokens": 1000000000}"#, "messages"),
            ("/v1/completions", #"{"prompt": {"a": 1}}"#, "prompt"),
            ("/v1/completions", #"{"prompt": [1, "a"]}"#, "prompt"),
            ("/v1/completions", #"{"prompt": [100000]}"#, "prompt"),
            ("/v1/completions", #"{"prompt": "a", "logprobs": 50}"#, "logprobs"),
            ("/v1/completions", #"{}"#, "prompt"),
        ]
        try await app(ScriptService(script: "ok", context: 64)).test(.router) { client in
            for (path, body, param) in cases {
                let r = try await self.post(client, path, body)
                XCTAssertEqual(r.status, .badRequest, body)
                let error = try self.json(r)["error"]
                XCTAssertEqual(error?["type"], .string("invalid_request_error"), body)
                XCTAssertFalse(error?["message"]?.stringValue?.isEmpty ?? true, body)
                XCTAssertEqual(error?["param"]?.stringValue, param, body)
            }
            let tooLong = try self.json(try await self.post(client, "/v1/chat/completions", cases[18].1))
            XCTAssertEqual(tooLong["error"]?["code"], .string("context_length_exceeded"))
            // Still serving.
            do { let r = try await self.post(client, "/v1/completions", #"{"prompt": "a"}"#); XCTAssertEqual(r.status, .ok) }
        }
    }

    func testUnknownModelIs404() async throws {
        try await app(ScriptService(script: "x")).test(.router) { client in
            let r = try await self.post(client, "/v1/chat/completions", #"{"model": "gpt-9", "messages": [{"role": "user", "content": "a"}]}"#)
            XCTAssertEqual(r.status, .notFound)
            XCTAssertEqual(try self.json(r)["error"]?["param"], .string("model"))
        }
    }

    func testAPIKeysAndBodyLimit() async throws {
        try await app(ScriptService(script: "x"), keys: ["k1", "sekret"], maxBody: 2048).test(.router) { client in
            let body = #"{"prompt": "a"}"#
            do { let r = try await self.post(client, "/v1/completions", body); XCTAssertEqual(r.status, .unauthorized) }
            do { let r = try await self.post(client, "/v1/completions", body, headers: [.authorization: "Bearer sekreT"]); XCTAssertEqual(r.status, .unauthorized) }
            do { let r = try await self.post(client, "/v1/completions", body, headers: [.authorization: "Bearer sekret"]); XCTAssertEqual(r.status, .ok) }
            do { let r = try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer k1"]); XCTAssertEqual(r.status, .ok) }
            do { let r = try await client.execute(uri: "/health", method: .get); XCTAssertEqual(r.status, .ok) }
            let big = #"{"prompt": ""# + String(repeating: "a", count: 4000) + #""}"#
            let r = try await self.post(client, "/v1/completions", big, headers: [.authorization: "Bearer sekret"])
            XCTAssertEqual(r.status, .contentTooLarge)
            XCTAssertEqual(try self.json(r)["error"]?["code"], .string("request_too_large"))
        }
        XCTAssertTrue(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        XCTAssertFalse(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        XCTAssertFalse(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual([], Array("a".utf8)))
    }

    /// One running slot, no queue: a second request while the first streams is a 429 with Retry-After.
    func testQueueFullIs429() async throws {
        let service = ScriptService(script: String(repeating: "a", count: 40), options: SchedulerOptions(maxQueue: 0, maxRunning: 1),
                                    delay: .milliseconds(20))
        try await app(service).test(.router) { client in
            async let first = self.post(client, "/v1/completions", #"{"prompt": "a"}"#)
            try await Task.sleep(for: .milliseconds(200))
            let second = try await self.post(client, "/v1/completions", #"{"prompt": "a"}"#)
            XCTAssertEqual(second.status, .tooManyRequests)
            XCTAssertEqual(second.headers[.retryAfter], "1")
            XCTAssertEqual(try self.json(second)["error"]?["code"], .string("queue_full"))
            do { let r = try await first; XCTAssertEqual(r.status, .ok) }
        }
    }
}
