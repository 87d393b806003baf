import XCTest
import Foundation
import SafeTensors
import TensorCore
@testable import LanguageModels

/// A sequence's logits are bit-identical alone or batched beside any other sequences, at any position in the
/// batch, for decode rows and prefill chunks alike (the guarantee batching and the prefix cache rest on).
final class BatchInvarianceTests: XCTestCase {
    func prefill(_ model: Qwen35Model, _ ids: [Int], chunk: Int = 64) -> (SequenceState, [Float]) {
        var state = model.makeState()
        var logits: [Float] = []
        var at = 0
        while at < ids.count {
            let end = min(ids.count, (at / chunk + 1) * chunk)
            logits = model.forward(Array(ids[at..<end]), state: &state, allLogits: false)
            at = end
        }
        return (state, logits)
    }

    func testDecodeAndPrefillRowsAreBatchInvariant() throws {
        for name in Qwen35ReferenceTests.modelNames {
            try checkBatchInvariance(try Qwen35ReferenceTests.fixture(name).model, name)
        }
    }

    /// The same on 16-bit and q8_0 caches: rows are stored per token, so what a sequence reads back does not
    /// depend on its neighbours either.
    func testTypedCachesAreBatchInvariant() throws {
        let dir = Qwen35ReferenceTests.fixtures.appendingPathComponent("models/qwen35-dense-tiny")
        for type in [KVType.bf16, .f16, .q8_0] {
            let model = try Qwen35Model(directory: dir, kvType: type)
            XCTAssertEqual(model.makeState().layers.compactMap { if case .attention(let kv) = $0 { kv.type } else { nil } }.first, type)
            try checkBatchInvariance(model, "qwen35-dense-tiny \(type) KV")
        }
    }

    func checkBatchInvariance(_ model: Qwen35Model, _ name: String) throws {
        do {
            let v = model.vocabSize
            // Three sequences of different lengths, prefilled alone.
            let prompts = [Array(0..<70).map { ($0 * 37 + 5) % v }, [7, 8, 9], Array(0..<130).map { ($0 * 11 + 3) % v }]
            let alone = prompts.map { prefill(model, $0) }
            // Alone: one decode token for sequence 0.
            var s0 = alone[0].0
            let single = model.forward([42], state: &s0, allLogits: false)           // [1, V]
            // Batched, the sequence first, last, and beside a prefill chunk of another sequence.
            for order in [[0, 1, 2], [2, 1, 0], [1, 0]] {
                var states = order.map { alone[$0].0 }
                let rows = model.forwardBatch(order.map { $0 == 0 ? [42] : [3] }, states: &states)
                let at = order.firstIndex(of: 0)!
                XCTAssertEqual(Array(rows[(at * v)..<((at + 1) * v)]), single, "\(name): decode row at \(at) of \(order)")
                XCTAssertEqual(states[at], s0, "\(name): state after the batched step")
            }
            var states = [alone[1].0, alone[0].0]
            let chunk = Array(0..<64).map { ($0 * 5 + 1) % v }
            let mixed = model.forwardBatch([chunk, [42]], states: &states)
            XCTAssertEqual(Array(mixed[v..<(2 * v)]), single, "\(name): decode row beside a prefill chunk")
            var alone1 = alone[1].0
            let chunkAlone = model.forward(chunk, state: &alone1, allLogits: false)
            XCTAssertEqual(Array(mixed[0..<v]), chunkAlone, "\(name): prefill chunk beside a decode row")
            XCTAssertEqual(states[0], alone1, "\(name): state after the batched chunk")
        }
    }

    /// A prompt read in chunks of several grid steps (128, 192, the whole prompt) gives the bits of 64-token
    /// chunks: logits and every layer's state. 193 tokens: the last grid chunk is one token (the recurrent
    /// delta rule and the decode attention kernel), which a wide chunk must also run for it.
    func testWideChunksEqualGridChunks() throws {
        for name in Qwen35ReferenceTests.modelNames {
            let model = try Qwen35ReferenceTests.fixture(name).model
            let v = model.vocabSize
            let ids = Array(0..<193).map { ($0 * 29 + 11) % v }
            let grid = prefill(model, ids)
            for chunk in [128, 192, 256] {
                let wide = prefill(model, ids, chunk: chunk)
                XCTAssertEqual(wide.1, grid.1, "\(name): logits, chunk \(chunk)")
                XCTAssertEqual(wide.0, grid.0, "\(name): state, chunk \(chunk)")
            }
        }
    }

    /// More rows than the GEMV/GEMM switch (64): still row-wise, still identical.
    func testWideDecodeBatch() throws {
        let model = try Qwen35ReferenceTests.fixture("qwen35-moe-tiny").model
        let v = model.vocabSize
        let base = prefill(model, [1, 2, 3, 4, 5]).0
        var one = base
        let single = model.forward([9], state: &one, allLogits: false)
        var states = Array(repeating: base, count: 80)
        let ids = (0..<80).map { [$0 == 57 ? 9 : ($0 * 13) % v] }
        let rows = model.forwardBatch(ids, states: &states)
        XCTAssertEqual(Array(rows[(57 * v)..<(58 * v)]), single)
    }
}

/// The same guarantee on quantised weights: Q8_0 kernels quantise activations per row, so a row's integer dots
/// and block scales do not depend on the other rows.
final class QuantizedBatchInvarianceTests: XCTestCase {
    func testQ8_0DecodeRowsAreBatchInvariant() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("q8-invariance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for name in ["qwen35-dense-tiny", "qwen35-moe-tiny"] {
            let dir = Qwen35ReferenceTests.fixtures.appendingPathComponent("models/\(name)")
            let url = tmp.appendingPathComponent("\(name)-q8_0.gguf")
            try Qwen35GGUFExport.writer(config: try Qwen35Config.load(directory: dir), store: try WeightStore(directory: dir),
                                        mix: .q8_0).write(to: url)
            let model = try Qwen35Model(gguf: url)
            let v = model.vocabSize
            var base = model.makeState()
            _ = model.forward([1, 2, 3, 4, 5], state: &base, allLogits: false)
            var one = base
            let single = model.forward([9], state: &one, allLogits: false)
            var states = Array(repeating: base, count: 70)
            let rows = model.forwardBatch((0..<70).map { [$0 == 33 ? 9 : ($0 * 13) % v] }, states: &states)
            XCTAssertEqual(Array(rows[(33 * v)..<(34 * v)]), single, "\(name) Q8_0: decode row in a 70-row batch")
            var pair = [base, one]
            let chunk = Array(0..<64).map { ($0 * 5 + 1) % v }
            let mixed = model.forwardBatch([[9], chunk], states: &pair)
            XCTAssertEqual(Array(mixed[0..<v]), single, "\(name) Q8_0: decode row beside a prefill chunk")
        }
    }
}
