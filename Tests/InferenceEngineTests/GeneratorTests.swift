import XCTest
import Foundation
import LanguageModels
@testable import InferenceEngine

/// A model that always puts the most weight on `script[position]`.
final class ScriptedModel: LanguageModel, @unchecked Sendable {
    let script: [Int]
    let vocabSize = 16
    let maxContextLength: Int
    let eosTokenIds = [15]
    init(_ script: [Int], context: Int = 64) { self.script = script; maxContextLength = context }
    func makeState() -> SequenceState { SequenceState(layers: []) }
    func forward(_ ids: [Int], state: inout SequenceState, allLogits: Bool) -> [Float] {
        state.position += ids.count
        var l = [Float](repeating: 0, count: vocabSize)
        l[script[min(state.position - 1, script.count - 1)]] = 5
        return l
    }
}

/// One character per id: id i ↦ letter i ("a" + i); id 10 is the first half of "é" split over two ids.
struct LetterDecoder: StreamingTextDecoder {
    var pending: [UInt8] = []
    mutating func append(_ id: Int) -> String {
        pending += id == 10 ? [0xC3] : id == 11 ? [0xA9] : Array(String(UnicodeScalar(UInt8(97 + id))).utf8)
        if let s = String(validating: pending, as: UTF8.self) { pending = []; return s }
        return ""
    }
    mutating func finish() -> String { defer { pending = [] }; return String(decoding: pending, as: UTF8.self) }
}

final class GeneratorTests: XCTestCase {
    func collect(_ g: inout Generator<LetterDecoder>) -> (content: String, reasoning: String, ids: [Int], finish: FinishReason?, usage: Usage?) {
        var c = "", r = "", ids: [Int] = [], f: FinishReason?, u: Usage?
        while let e = g.next() {
            switch e {
            case .delta(let d): c += d.content; r += d.reasoning; ids += d.tokenIDs
            case .finished(let reason, let usage, _): f = reason; u = usage
            }
        }
        return (c, r, ids, f, u)
    }

    func testStopsOnEOSWithoutEmittingIt() throws {
        var req = GenerationRequest(promptIDs: [0, 1])
        req.sampling = .greedy; req.stopTokenIDs = [15]; req.maxTokens = 10
        var g = try Generator(model: ScriptedModel([0, 2, 3, 10, 11, 15]), request: req, decoder: LetterDecoder())
        let out = collect(&g)
        XCTAssertEqual(out.content, "cdé")
        XCTAssertEqual(out.ids, [2, 3, 10, 11])
        XCTAssertEqual(out.finish, .stop)
        XCTAssertEqual(out.usage, Usage(promptTokens: 2, completionTokens: 5))
    }

    func testMaxTokens() throws {
        var req = GenerationRequest(promptIDs: [0])
        req.sampling = .greedy; req.maxTokens = 3
        var g = try Generator(model: ScriptedModel([1, 2, 3, 4, 5]), request: req, decoder: LetterDecoder())
        let out = collect(&g)
        XCTAssertEqual(out.content, "bcd")
        XCTAssertEqual(out.finish, .length)
    }

    func testStopStringSpanningTokens() throws {
        var req = GenerationRequest(promptIDs: [0])
        req.sampling = .greedy; req.maxTokens = 10; req.stopStrings = ["de"]
        var g = try Generator(model: ScriptedModel([1, 2, 3, 4, 5, 6]), request: req, decoder: LetterDecoder())
        let out = collect(&g)
        XCTAssertEqual(out.content, "bc")
        XCTAssertEqual(out.finish, .stop)
    }

    func testPromptLongerThanContextFailsBeforeCompute() {
        var req = GenerationRequest(promptIDs: Array(repeating: 1, count: 60))
        req.maxTokens = 10
        XCTAssertThrowsError(try Generator(model: ScriptedModel([1], context: 64), request: req, decoder: LetterDecoder())) {
            XCTAssertTrue("\($0)".contains("exceeds the model's context"), "\($0)")
        }
        var bad = GenerationRequest(promptIDs: [1]); bad.sampling.topP = 0
        XCTAssertThrowsError(try Generator(model: ScriptedModel([1]), request: bad, decoder: LetterDecoder()))
        // A logit bias or a logprobs count that names no token of the vocabulary (16 ids here).
        bad = GenerationRequest(promptIDs: [1]); bad.maxTokens = 4; bad.sampling.logitBias = [16: 1]
        XCTAssertThrowsError(try Generator(model: ScriptedModel([1]), request: bad, decoder: LetterDecoder())) {
            XCTAssertTrue("\($0)".contains("logit_bias: token id 16"), "\($0)")
        }
        bad = GenerationRequest(promptIDs: [1]); bad.maxTokens = 4; bad.topLogprobs = -1
        XCTAssertThrowsError(try Generator(model: ScriptedModel([1]), request: bad, decoder: LetterDecoder())) {
            XCTAssertTrue("\($0)".contains("top_logprobs"), "\($0)")
        }
    }

    /// Logprobs come from the raw distribution: scripted logits are 5 for one id, 0 for the other 15.
    func testLogprobsOfChosenTokenAndAlternatives() throws {
        var req = GenerationRequest(promptIDs: [0])
        req.sampling = .greedy; req.maxTokens = 2; req.topLogprobs = 3
        req.sampling.logitBias = [7: 100]   // bias changes the choice, not the reported distribution
        var g = try Generator(model: ScriptedModel([1, 2, 3]), request: req, decoder: LetterDecoder())
        var lps: [TokenLogprob] = []
        while let e = g.next() { if case .delta(let d) = e { lps += d.logprobs } }
        XCTAssertEqual(lps.map(\.id), [7, 7])
        let z = log(exp(Float(5)) + 15)
        XCTAssertEqual(lps[0].logprob, 0 - z, accuracy: 1e-5)
        XCTAssertEqual(lps[0].top.count, 3)
        XCTAssertEqual(lps[0].top[0].id, 1)
        XCTAssertEqual(lps[0].top[0].logprob, 5 - z, accuracy: 1e-5)
        XCTAssertEqual(lps[1].top[0].id, 2)
    }

    /// transformers' `generate()` on the fixture models (greedy, stops on EOS): same ids.
    func testGreedyMatchesTransformersGenerate() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
        struct Case: Decodable { let prompt_ids: [Int]; let new_ids: [Int]; let finish: String }
        let all = try JSONDecoder().decode([String: [Case]].self,
                                           from: Data(contentsOf: fixtures.appendingPathComponent("references/generate.json")))
        var checked = 0
        for (name, cases) in all.sorted(by: { $0.key < $1.key }) {
            let model = try Qwen35Model(directory: fixtures.appendingPathComponent("models/\(name)"))
            for c in cases {
                var req = GenerationRequest(promptIDs: c.prompt_ids)
                req.sampling = .greedy; req.maxTokens = 16; req.stopTokenIDs = Set(model.eosTokenIds)
                var g = try Generator(model: model, request: req, decoder: NullDecoder())
                var ids: [Int] = [], finish: FinishReason?
                while let e = g.next() {
                    if case .delta(let d) = e { ids += d.tokenIDs }
                    if case .finished(let f, let u, _) = e { finish = f; XCTAssertEqual(u.completionTokens, c.new_ids.count) }
                }
                let expected = c.finish == "stop" ? Array(c.new_ids.dropLast()) : c.new_ids
                XCTAssertEqual(ids, expected, "\(name): prompt \(c.prompt_ids.prefix(8))…")
                XCTAssertEqual(finish?.rawValue, c.finish, "\(name)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 21)
    }
}

struct NullDecoder: StreamingTextDecoder {
    mutating func append(_ id: Int) -> String { "" }
    mutating func finish() -> String { "" }
}
