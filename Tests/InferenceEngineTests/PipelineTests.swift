import XCTest
import Foundation
import Templating
import Tokenization
@testable import InferenceEngine

/// The whole path a user takes: model directory → ModelBundle → (chat template →) tokenizer → Generator with the
/// streaming detokenizer → text, against transformers' `generate()` in `references/generate.json`.
final class PipelineTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func testGreedyTextThroughTheWholePipelineMatchesTransformers() throws {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("references/generate.json"))
        guard case .object(let models) = try JSONValue.parse(data) else { return XCTFail("generate.json is not an object") }
        var checked = 0
        for (name, cases) in models {
            let bundle = try ModelBundle(directory: Self.fixtures.appendingPathComponent("models/\(name)"))
            XCTAssertEqual(bundle.eosTokenIDs, [504, 506], name)
            for c in cases.arrayValue ?? [] {
                let expectedPrompt = c["prompt_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
                let newIDs = c["new_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
                let finish = c["finish"]?.stringValue
                var promptIDs: [Int], startsInReasoning = false
                if c["kind"]?.stringValue == "chat" {
                    var options = ChatTemplateOptions()
                    options.enableThinking = c["options"]?["enable_thinking"]?.boolValue
                    let r = try bundle.renderChat(messages: c["messages"]?.arrayValue ?? [], tools: nil, options: options)
                    XCTAssertEqual(r.prompt, c["rendered"]?.stringValue, "\(name): rendered chat")
                    promptIDs = r.ids
                    startsInReasoning = ChatFormatter.startsInReasoning(r.prompt)
                } else {
                    promptIDs = bundle.tokenizer.encode(c["prompt"]?.stringValue ?? "")
                }
                XCTAssertEqual(promptIDs, expectedPrompt, "\(name): prompt ids")

                var request = GenerationRequest(promptIDs: promptIDs)
                request.sampling = .greedy
                request.maxTokens = 16
                request.stopTokenIDs = bundle.eosTokenIDs
                request.startsInReasoning = startsInReasoning
                request.replyFormat = c["messages"] != nil ? .chat : .raw
                var generator = try Generator(model: bundle.model, request: request,
                                              decoder: StreamingDetokenizer(tokenizer: bundle.tokenizer, skipSpecialTokens: false))
                var content = "", reasoning = "", ids: [Int] = [], reason: FinishReason?
                while let event = generator.next() {
                    switch event {
                    case .delta(let d): content += d.content; reasoning += d.reasoning; ids += d.tokenIDs
                    case .finished(let f, let usage, _):
                        reason = f
                        XCTAssertEqual(usage.promptTokens, expectedPrompt.count); XCTAssertEqual(usage.completionTokens, newIDs.count)
                    }
                }
                let expectedIDs = finish == "stop" ? Array(newIDs.dropLast()) : newIDs
                XCTAssertEqual(ids, expectedIDs, "\(name): generated ids")
                XCTAssertEqual(reason?.rawValue, finish, "\(name): finish")
                // The streamed text, split or not at </think>, is the decode of the ids.
                let text = bundle.tokenizer.decode(expectedIDs)
                if request.replyFormat == .chat {
                    // A chat reply: the reasoning / content split of the whole text, whatever the token boundaries.
                    let whole = ReplyParser.parse(text, startsInReasoning: startsInReasoning, tools: [], makeID: { "call_\($0)" })
                    XCTAssertEqual(reasoning, whole.reasoning ?? "", name)
                    XCTAssertEqual(content, whole.content ?? "", name)
                    if startsInReasoning, let close = text.range(of: "</think>") {
                        XCTAssertEqual(reasoning, String(text[..<close.lowerBound]).trimmingCharacters(in: .newlines), name)
                    } else if startsInReasoning {
                        XCTAssertEqual(content, "", "\(name): no </think>, so everything is reasoning")
                    }
                } else {
                    XCTAssertEqual(content, text, name)
                    XCTAssertEqual(reasoning, "", name)
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, 21)
    }

    func testBundleSummaryAndDefaults() throws {
        let bundle = try ModelBundle(directory: Self.fixtures.appendingPathComponent("models/qwen35-moe-tiny"))
        XCTAssertTrue(bundle.summary.hasPrefix("qwen35-moe-tiny: "), bundle.summary)
        XCTAssertTrue(bundle.summary.contains("MoE"), bundle.summary)
        let (total, active) = bundle.parameterCounts
        XCTAssertGreaterThan(total, active)
        let defaults = bundle.generationConfig.defaultSampling
        XCTAssertEqual(defaults.temperature, 0.6)
        XCTAssertEqual(defaults.topK, 20)
        XCTAssertEqual(defaults.topP, 0.95)
        XCTAssertNotNil(bundle.template)
    }

    /// A directory without weights still renders and tokenizes; a template that raises reports its message.
    func testChatFormatterWithoutWeightsAndRaisingTemplate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qk-formatter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = Self.fixtures.appendingPathComponent("models/qwen35-dense-tiny")
        for f in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"] {
            try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let formatter = try ChatFormatter(directory: dir)
        let hello = JSONValue.object([("role", .string("user")), ("content", .string("Hi"))])
        let r = try formatter.render(messages: [hello], tools: nil, options: ChatTemplateOptions())
        XCTAssertEqual(r.prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n")
        XCTAssertEqual(formatter.tokenizer.decode(r.ids), r.prompt)
        // Qwen3.5's template raises on a conversation without a user message.
        let system = JSONValue.object([("role", .string("system")), ("content", .string("S"))])
        XCTAssertThrowsError(try formatter.render(messages: [system], tools: nil, options: ChatTemplateOptions())) {
            XCTAssertTrue("\($0)".contains("No user query found"), "\($0)")
        }
        // Weights missing → the bundle fails naming the directory; the formatter alone did not need them.
        XCTAssertThrowsError(try ModelBundle(directory: dir)) { XCTAssertTrue("\($0)".contains(dir.lastPathComponent), "\($0)") }
    }
}
