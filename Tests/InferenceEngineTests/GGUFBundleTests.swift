import Foundation
import XCTest
import GGUF
import LanguageModels
import SafeTensors
import Tokenization
@testable import InferenceEngine

/// A fixture model directory written as one GGUF (`ModelDirectoryExport`: weights, tokenizer, chat template and
/// sampling defaults as llama.cpp's converter lays them out) loads as a `ModelBundle` whose tokenizer gives
/// exactly the ids of the `tokenizer.json` path, whose model gives the same logits and whose default sampling is
/// the directory's.
final class GGUFBundleTests: XCTestCase {
    func testGGUFBundleMatchesDirectoryBundle() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/qwen35-dense-tiny")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-bundle-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try ModelDirectoryExport.writer(directory: dir).write(to: tmp)

        let a = try ModelBundle(directory: dir), b = try ModelBundle(directory: tmp)
        let texts = ["Hello, world!", "  leading spaces and\nnewlines\r\n", "<|im_start|>user\nhi<|im_end|>", "<think>x</think> 12345 ünïcödé 漢字 🙂",
                     "I'm sure they'll've done it", "\t\ttabs", ""]
        for t in texts {
            XCTAssertEqual(b.tokenizer.encode(t), a.tokenizer.encode(t), "encode \(t.debugDescription)")
            XCTAssertEqual(b.tokenizer.encode(t, splitSpecialTokens: true), a.tokenizer.encode(t, splitSpecialTokens: true), t)
            XCTAssertEqual(b.tokenizer.decode(a.tokenizer.encode(t)), a.tokenizer.decode(a.tokenizer.encode(t)), t)
        }
        // llama.cpp's token types: `<|fim_prefix|>` (special: false in tokenizer.json) is written as a control token,
        // so the GGUF tokenizer holds it special (not produced under constraints, split by splitSpecialTokens);
        // plain encoding still gives tokenizer.json's ids.
        let fim = "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|> <tool_call>"
        XCTAssertEqual(b.tokenizer.encode(fim), a.tokenizer.encode(fim))
        XCTAssertEqual(b.tokenizer.decode(a.tokenizer.encode(fim)), a.tokenizer.decode(a.tokenizer.encode(fim)))
        let fimID = try XCTUnwrap(a.tokenizer.tokenID("<|fim_prefix|>"))
        XCTAssertFalse(a.tokenizer.isSpecial(fimID))
        XCTAssertTrue(b.tokenizer.isSpecial(fimID))
        XCTAssertFalse(b.tokenizer.isSpecial(try XCTUnwrap(a.tokenizer.tokenID("<tool_call>"))))
        XCTAssertEqual(b.eosTokenIDs.intersection(a.eosTokenIDs).isEmpty, false)
        XCTAssertNotNil(b.template)
        // generation_config.json's sampling travels as general.sampling.* (as llama.cpp's converter writes it).
        XCTAssertEqual(a.generationConfig.sampling.temperature, 0.6)
        XCTAssertEqual(b.generationConfig.sampling, a.generationConfig.sampling)
        let file = try GGUFFile(path: tmp.path)
        XCTAssertEqual(file.metadata["general.sampling.top_k"], .int32(20))
        XCTAssertEqual(file.metadata["general.type"], .string("model"))
        XCTAssertEqual(file.metadata["general.name"], .string("qwen35-dense-tiny"))
        let ids = a.tokenizer.encode("The quick brown fox")
        var sa = a.model.makeState(), sb = b.model.makeState()
        let la = a.model.forward(ids, state: &sa, allLogits: false), lb = b.model.forward(ids, state: &sb, allLogits: false)
        XCTAssertEqual(zip(la, lb).map { abs($0 - $1) }.max() ?? 1, 0, accuracy: 1e-4)
    }
}

extension GGUFBundleTests {
    /// Q8_0 export → load round trip: the model runs from the quantised file and stays close to the f32 fixture.
    /// The tiny random model (H = 64, heavy-tailed weights) is far more sensitive than a real one: per-layer
    /// activations drift by ~3 % of their range (embedding error = half a Q8_0 step, as expected), so the
    /// bound is relative and top-1 must mostly agree.
    func testQ8_0ExportRoundTrip() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/qwen35-moe-tiny")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-q8-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let config = try Qwen35Config.load(directory: dir)
        try Qwen35GGUFExport.writer(config: config, store: WeightStore(directory: dir), mix: .q8_0).write(to: tmp)
        let q = try Qwen35Model(gguf: tmp), f = try Qwen35Model(directory: dir)
        XCTAssertTrue(q.weights.storedTensors.contains { $0.format == "Q8_0" })
        let ids = [1, 5, 9, 200, 17, 3, 44, 45, 46, 300]
        var sq = q.makeState(), sf = f.makeState()
        let lq = q.forward(ids, state: &sq, allLogits: true), lf = f.forward(ids, state: &sf, allLogits: true)
        let d = zip(lq, lf).map { abs($0 - $1) }.max() ?? 1, scale = lf.map { abs($0) }.max() ?? 1
        let v = f.vocabSize
        let agree = (0..<ids.count).filter { t in
            let a = lq[(t * v)..<((t + 1) * v)], b = lf[(t * v)..<((t + 1) * v)]
            return a.firstIndex(of: a.max()!)! - t * v == b.firstIndex(of: b.max()!)! - t * v
        }.count
        print("qwen35-moe-tiny Q8_0 vs f32 logits: max |Δ| = \(d), max |logit| = \(scale), top-1 agree \(agree)/\(ids.count)")
        XCTAssertLessThan(d, 0.35 * scale)
        XCTAssertGreaterThanOrEqual(agree, ids.count * 7 / 10)
    }
}

extension GGUFBundleTests {
    /// general.sampling.* of the wrong type is an error naming the key; absent keys mean no default.
    func testSamplingKeysAreTyped() throws {
        func config(_ meta: [(String, GGUFValue)]) throws -> GenerationConfig {
            var w = GGUFWriter()
            w.add("general.architecture", .string("qwen35"))
            for (k, v) in meta { w.add(k, v) }
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sampling-\(UUID().uuidString).gguf")
            defer { try? FileManager.default.removeItem(at: tmp) }
            try w.write(to: tmp)
            return try GenerationConfig(gguf: GGUFFile(path: tmp.path))
        }
        XCTAssertEqual(try config([]).sampling, SamplingOverrides())
        let c = try config([("general.sampling.top_k", .int32(40)), ("general.sampling.temp", .float32(0.7)),
                            ("general.sampling.penalty_repeat", .float32(1.1))])
        XCTAssertEqual(c.sampling.topK, 40)
        XCTAssertEqual(c.sampling.temperature, 0.7)
        XCTAssertEqual(c.sampling.repetitionPenalty, 1.1)
        XCTAssertThrowsError(try config([("general.sampling.top_k", .string("40"))])) {
            XCTAssertTrue("\($0)".contains("general.sampling.top_k"), "\($0)")
        }
        XCTAssertThrowsError(try config([("general.sampling.top_p", .bool(true))])) {
            XCTAssertTrue("\($0)".contains("general.sampling.top_p"), "\($0)")
        }
    }
}
