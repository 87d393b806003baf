import XCTest
import Foundation
import Kernels
import SafeTensors
import TensorCore
@testable import LanguageModels

/// A model whose config carries YaRN (`qwen35-yarn-tiny`, Tests/Fixtures/tools/make_yarn_fixture.py) against
/// transformers 5.23: its frequencies, full-forward logits of a 200-token prompt (past the original window of
/// 64), cached greedy decode and a split prefill, each within the reference tests' 1e-4; and the limit of
/// 4 × 64 positions.
final class YaRNReferenceTests: XCTestCase {
    static let name = "qwen35-yarn-tiny"
    static let tolerance = Qwen35ReferenceTests.logitTolerance

    nonisolated(unsafe) static var cached: Qwen35ReferenceTests.Fixture?
    static func fixture() throws -> Qwen35ReferenceTests.Fixture {
        if let f = cached { return f }
        let f = try Qwen35ReferenceTests.fixture(name)
        cached = f
        return f
    }

    func testConfigReadsYaRN() throws {
        let c = try Self.fixture().model.config
        XCTAssertEqual(c.ropeScaling, .yarn(.init(factor: 4, originalMaxPositions: 64)))
        XCTAssertEqual(c.maxPositionEmbeddings, 64)
        XCTAssertEqual(c.contextLength, 256)
        XCTAssertEqual(try Self.fixture().model.maxContextLength, 256)
    }

    func testFrequenciesMatchTransformers() throws {
        let f = try Self.fixture()
        let attention = f.model.layers.compactMap { layer -> GatedAttention? in
            if case .full(let a) = layer.mixer { return a } else { return nil }
        }
        let rope = try XCTUnwrap(attention.first).rope
        let ref = try f.tensor("inv_freq")                    // [R/2], transformers' f32 inv_freq
        XCTAssertEqual(rope.inverseFrequencies.count, ref.count)
        for (i, (got, want)) in zip(rope.inverseFrequencies, ref).enumerated() {
            XCTAssertEqual(got, Double(want), accuracy: Double(want) * 1e-6, "pair \(i)")
        }
        XCTAssertEqual(rope.attentionFactor, Double(try f.tensor("attention_scaling")[0]), accuracy: 1e-6)
    }

    func testFullForwardLogits() throws {
        let f = try Self.fixture()
        let ids = try f.ids("input_ids")
        var state = f.model.makeState()
        let logits = f.model.forward(ids, state: &state, allLogits: true)   // [T, V]
        let d = Qwen35ReferenceTests.maxAbs(logits, try f.tensor("logits"))
        print("\(Self.name) (T=\(ids.count)) logits max |Δ| = \(d)")
        XCTAssertLessThanOrEqual(d, Self.tolerance)
    }

    func testCachedGreedyDecode() throws {
        let f = try Self.fixture()
        let v = f.model.vocabSize
        let refLogits = try f.tensor("decode_logits")   // [N, V]
        let refIds = try f.ids("greedy_ids")            // [N]
        var state = f.model.makeState()
        var logits = f.model.forward(try f.ids("input_ids"), state: &state, allLogits: false)   // [1, V]
        var got: [Int] = [], worst: Float = 0
        for step in 0..<refIds.count {
            worst = max(worst, Qwen35ReferenceTests.maxAbs(logits, Array(refLogits[(step * v)..<((step + 1) * v)])))
            let next = Qwen35ReferenceTests.argmax(logits[...])
            got.append(next)
            logits = f.model.forward([next], state: &state, allLogits: false)
        }
        print("\(Self.name) decode logits max |Δ| = \(worst)")
        XCTAssertEqual(got, refIds)
        XCTAssertLessThanOrEqual(worst, Self.tolerance)
    }

    func testSplitPrefill() throws {
        let f = try Self.fixture()
        let ids = try f.ids("input_ids"), splitRows = try f.tensor("split_logits").count / f.model.vocabSize
        let split = ids.count - splitRows
        var state = f.model.makeState()
        _ = f.model.forward(Array(ids[..<split]), state: &state, allLogits: false)
        let rest = f.model.forward(Array(ids[split...]), state: &state, allLogits: true)   // [T − S, V]
        XCTAssertLessThanOrEqual(Qwen35ReferenceTests.maxAbs(rest, try f.tensor("split_logits")), Self.tolerance)
    }

    /// The fixture can tell YaRN from plain RoPE: the same weights without the scaling miss by far more than
    /// the tolerance, both inside the original window (attention factor) and past it (frequencies).
    func testPlainRoPEWouldFail() throws {
        let f = try Self.fixture()
        var config = f.model.config
        config.ropeScaling = .none
        config.maxPositionEmbeddings = 256
        let dir = Qwen35ReferenceTests.fixtures.appendingPathComponent("models/\(Self.name)")
        let plain = try Qwen35Model(config: config, store: WeightStore(directory: dir))
        let ids = try f.ids("input_ids"), v = plain.vocabSize
        var state = plain.makeState()
        let logits = plain.forward(ids, state: &state, allLogits: true)   // [T, V]
        let ref = try f.tensor("logits")
        let inside = Qwen35ReferenceTests.maxAbs(Array(logits[..<(64 * v)]), Array(ref[..<(64 * v)]))
        let past = Qwen35ReferenceTests.maxAbs(Array(logits[(64 * v)...]), Array(ref[(64 * v)...]))
        XCTAssertGreaterThan(inside, 100 * Self.tolerance)
        XCTAssertGreaterThan(past, 100 * Self.tolerance)
    }
}
