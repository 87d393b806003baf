import Foundation
import Hummingbird
import HummingbirdTesting
import InferenceEngine
@testable import OpenAIServer
import Templating
import XCTest

/// The batching and prefix-cache guarantees end to end through the HTTP API on a real (tiny) model:
/// `/v1/completions` with token-id prompts and logprobs gives the same bytes sent one at a time, all at once,
/// or served from the prefix cache.
final class RealModelServerTests: XCTestCase {
    static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/qwen35-dense-tiny")

    func app(cacheBytes: Int) throws -> some ApplicationProtocol {
        var o = SchedulerOptions(maxQueue: 16, maxRunning: 8)
        o.prefixCacheBytes = cacheBytes
        o.prefixBlockTokens = 64
        o.maxBatchTokens = 16
        let service = LocalInferenceService(bundle: try ModelBundle(directory: Self.model), modelID: "tiny", options: o)
        return Application(router: buildRouter(service: service, metrics: ServerMetrics(), options: ServerOptions()))
    }

    static func body(_ i: Int) -> String {
        let ids = (0..<(40 + 37 * i)).map { ($0 * 29 + i * 3 + 1) % 480 }
        let sampling = i % 2 == 0 ? #""temperature": 0"# : #""temperature": 0.8, "seed": \#(i)"#
        return #"{"prompt": \#(ids), "max_tokens": 10, "logprobs": 2, \#(sampling)}"#
    }

    /// The choices and usage of a response, without id and timestamp.
    func answer(_ client: any TestClientProtocol, _ body: String) async throws -> (choices: JSONValue?, usage: JSONValue?) {
        let r = try await client.execute(uri: "/v1/completions", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(string: body))
        XCTAssertEqual(r.status, .ok, String(buffer: r.body))
        let json = try JSONValue.parse(String(buffer: r.body))
        return (json["choices"], json["usage"])
    }

    func testOneAtATimeEqualsAllAtOnceEqualsCached() async throws {
        let bodies = (0..<4).map(Self.body)
        var sequential: [JSONValue?] = []
        try await app(cacheBytes: 0).test(.router) { client in
            for b in bodies { sequential.append(try await self.answer(client, b).choices) }
        }
        let expected = sequential
        try await app(cacheBytes: 0).test(.router) { client in
            try await withThrowingTaskGroup(of: (Int, JSONValue?).self) { group in
                for (i, b) in bodies.enumerated() { group.addTask { (i, try await self.answer(client, b).choices) } }
                for try await (i, choices) in group { XCTAssertEqual(choices, expected[i], "request \(i) batched") }
            }
        }
        try await app(cacheBytes: 32 << 20).test(.router) { client in
            for (i, b) in bodies.enumerated() {
                let first = try await self.answer(client, b)
                let again = try await self.answer(client, b)
                XCTAssertEqual(first.choices, expected[i], "request \(i) on a cold cache")
                XCTAssertEqual(again.choices, expected[i], "request \(i) from the cache")
                let cached = again.usage?["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0
                XCTAssertEqual(cached, (40 + 37 * i - 1) / 64 * 64, "request \(i) cached tokens")
            }
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            XCTAssertTrue(metrics.contains("qwenkit_prefix_cache_hits"))
            XCTAssertTrue(metrics.contains("qwenkit_kv_cache_bytes"))
        }
    }
}

/// `qwenkit serve` answers before the weights are loaded (`LoadingInferenceService`): 503s, then everything the
/// loaded service offers, constrained decoding included.
final class LoadingServiceTests: XCTestCase {
    func testHealthIs503UntilLoadedThenEverythingWorks() async throws {
        let loading = LoadingInferenceService(modelID: "tiny")
        let app = Application(router: buildRouter(service: loading, metrics: ServerMetrics(), options: ServerOptions()))
        try await app.test(.router) { client in
            let before = try await client.execute(uri: "/health", method: .get)
            XCTAssertEqual(before.status, .serviceUnavailable)
            let early = try await client.execute(uri: "/v1/completions", method: .post, headers: [.contentType: "application/json"],
                                                 body: ByteBuffer(string: #"{"prompt": "a"}"#))
            XCTAssertEqual(early.status, .serviceUnavailable)
            loading.loaded(LocalInferenceService(bundle: try ModelBundle(directory: RealModelServerTests.model), modelID: "tiny",
                                                 options: SchedulerOptions()))
            let after = try await client.execute(uri: "/health", method: .get)
            XCTAssertEqual(after.status, .ok)
            let body = #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "response_format": {"type": "json_object"}, "chat_template_kwargs": {"enable_thinking": false}}"#
            let r = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                                             body: ByteBuffer(string: body))
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            XCTAssertTrue(String(buffer: r.body).contains("\"content\":\"{"), String(buffer: r.body))
        }
    }
}
