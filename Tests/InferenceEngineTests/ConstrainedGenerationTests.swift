import XCTest
import Foundation
import Grammar
import JSON
import Tokenization
@testable import InferenceEngine

/// Generation under a grammar with the random-weight fixture models: whatever the weights want, the answer
/// must be a document that validates (a random model explores the grammar, so many seeds cover many paths).
final class ConstrainedGenerationTests: XCTestCase {
    static let bundle = try! ModelBundle(directory: PipelineTests.fixtures.appendingPathComponent("models/qwen35-dense-tiny"))
    static let vocabulary = Vocabulary(tokenizer: bundle.tokenizer)

    /// Schemas whose documents a random model can finish within the token budget (bounded strings).
    static let schemas = [
        #"{"type":"object","properties":{"name":{"type":"string","maxLength":6},"age":{"type":"integer","minimum":0,"maximum":130},"ok":{"type":"boolean"}},"required":["name","age","ok"]}"#,
        #"{"type":"object","properties":{"tags":{"type":"array","items":{"enum":["a","b","c"]},"minItems":1,"maxItems":3},"when":{"type":"string","format":"date"},"id":{"type":"string","format":"uuid"}},"required":["tags","when","id"]}"#,
        ##"{"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"v":{"type":"integer","minimum":-5,"maximum":5},"kids":{"type":"array","maxItems":2,"items":{"$ref":"#/$defs/n"}}},"required":["v"]}}}"##,
        #"{"anyOf":[{"type":"string","pattern":"^[a-c]{1,3}-\\d$"},{"type":"array","prefixItems":[{"type":"null"},{"const":"x"}],"items":false}]}"#,
    ]

    private func run(_ request: GenerationRequest) throws -> (content: String, reasoning: String, calls: [ToolCallDelta], usage: Usage?, ids: [Int]) {
        var generator = try Generator(model: Self.bundle.model, request: request,
                                      decoder: StreamingDetokenizer(tokenizer: Self.bundle.tokenizer, skipSpecialTokens: false))
        var d = GenerationDelta(), usage: Usage?
        while let event = generator.next() {
            switch event {
            case .delta(let x): d.append(x)
            case .finished(_, let u, _): usage = u
            }
        }
        return (d.content, d.reasoning, d.toolCalls, usage, d.tokenIDs)
    }

    private func request(_ grammar: Grammar, seed: UInt64) -> GenerationRequest {
        var r = GenerationRequest(promptIDs: Self.bundle.tokenizer.encode("Answer in JSON:"))
        r.sampling.temperature = 1
        r.sampling.seed = seed
        r.maxTokens = 400
        r.stopTokenIDs = Self.bundle.eosTokenIDs
        r.constraint = TokenConstraint(CompiledGrammar(grammar, vocabulary: Self.vocabulary))
        return r
    }

    func testEverySeedYieldsASchemaValidDocument() throws {
        for text in Self.schemas {
            let schema = try JSONValue.parse(text)
            let grammar = try JSONSchemaCompiler.grammar(schema)
            for seed in 0..<12 as Range<UInt64> {
                let out = try run(request(grammar, seed: seed)).content
                let doc = try XCTUnwrap(try? JSONValue.parse(out), "seed \(seed): not JSON: \(out)")
                XCTAssertTrue(SchemaValidator(root: schema).valid(doc, schema), "seed \(seed): \(out) does not validate against \(text)")
            }
        }
    }

    func testJSONObjectModeYieldsAnObjectOrRunsOutOfTokens() throws {
        for seed in 0..<6 as Range<UInt64> {
            var r = request(try Grammar.jsonObject(), seed: seed)
            r.maxTokens = 60
            let out = try run(r).content
            XCTAssertTrue(out.hasPrefix("{"), out)
            if let doc = try? JSONValue.parse(out) { XCTAssertNotNil(doc.objectValue, out) }
        }
    }

    func testForcedToolCallParsesToSchemaValidArguments() throws {
        let params = try JSONValue.parse(#"{"type":"object","properties":{"city":{"type":"string","maxLength":8},"days":{"type":"integer","minimum":1,"maximum":14},"unit":{"enum":["c","f"]},"opts":{"type":"object","properties":{"x":{"type":"boolean"}},"required":["x"]}},"required":["city","days","opts"]}"#)
        let tools = [ToolSpec(name: "get_weather", parameters: params), ToolSpec(name: "noop", parameters: nil)]
        let grammar = try ToolCallGrammar.grammar(tools: [ToolCallGrammar.Tool(name: "get_weather", parameters: params)], mode: .one)
        for seed in 0..<10 as Range<UInt64> {
            var r = request(grammar, seed: seed)
            r.replyFormat = .chat
            r.tools = tools
            let out = try run(r)
            XCTAssertEqual(out.calls.count, 1, "seed \(seed): \(out)")
            XCTAssertEqual(out.calls.first?.name, "get_weather")
            let args = try XCTUnwrap(try? JSONValue.parse(out.calls.first?.arguments ?? ""), "seed \(seed): \(out.calls)")
            XCTAssertTrue(SchemaValidator(root: params).valid(args, params), "seed \(seed): \(args.serialized())")
        }
    }

    func testThinkingBudgetEndsReasoningAtExactlyTheBudget() throws {
        let think = try XCTUnwrap(Self.bundle.tokenizer.tokenID("</think>"))
        for budget in [0, 1, 7] {
            var r = GenerationRequest(promptIDs: Self.bundle.tokenizer.encode("Hi"))
            r.sampling.temperature = 1
            r.sampling.seed = 3
            r.maxTokens = 40
            r.stopTokenIDs = Self.bundle.eosTokenIDs
            r.startsInReasoning = true
            r.replyFormat = .chat
            r.thinkingBudget = budget
            r.thinkEndTokenID = think
            r.sampling.logitBias = [think: -100]   // the model alone would not close its reasoning
            let out = try run(r)
            XCTAssertEqual(out.usage?.reasoningTokens, budget)
            XCTAssertEqual(out.ids.firstIndex(of: think), budget, "</think> is token \(budget)")
        }
    }

    func testConstraintStartsAfterThinkAndComposesWithBias() throws {
        let schema = try JSONValue.parse(#"{"enum":["yes","no"]}"#)
        let think = try XCTUnwrap(Self.bundle.tokenizer.tokenID("</think>"))
        for seed in 0..<4 as Range<UInt64> {
            var r = request(try JSONSchemaCompiler.grammar(schema), seed: seed)
            r.startsInReasoning = true
            r.replyFormat = .chat
            r.thinkingBudget = 5
            r.thinkEndTokenID = think
            r.sampling.logitBias = [think: -100]
            let out = try run(r)
            XCTAssertEqual(out.usage?.reasoningTokens, 5)
            XCTAssertTrue([#""yes""#, #""no""#].contains(out.content), out.content)
        }
    }

    func testMaskApplicationMatchesItsPlainTwin() {
        var mask = TokenMask(count: 200)
        for id in stride(from: 0, to: 200, by: 3) { mask[id] = true }
        for id in 64..<128 { mask[id] = true }
        let logits = (0..<260).map { Float($0) * 0.5 }
        var fast = logits, plain = logits
        applyTokenMask(&fast, allowed: mask, extra: [7, 250])
        applyTokenMaskReference(&plain, allowed: mask, extra: [7, 250])
        XCTAssertEqual(fast, plain)
    }
}
