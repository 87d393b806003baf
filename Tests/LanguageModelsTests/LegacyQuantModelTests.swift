import XCTest
import Foundation
import CKernels
import GGUF
import SafeTensors
import TensorCore
@testable import LanguageModels

/// 32-column legacy formats end to end: the fixture models (hidden size 64, not a whole K-quant block) exported
/// as Q4_K_M / Q5_K_M take llama.cpp's fallbacks Q5_0 / Q5_1 for those tensors, which load with a repacked copy
/// (quant_x16_legacy.c, on AVX-512 VNNI) and run: finite logits, and decode rows bit-identical alone, in a
/// 70-row batch and beside a prefill chunk (tiles of 8 tokens and 1-token tails compute each row alike).
final class LegacyQuantModelTests: XCTestCase {
    func testQ5FallbackModelsLoadPackedAndAreBatchInvariant() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("legacy-quant-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for (mix, fallback) in [(QuantMix.q4_K_M, WeightFormat.q5_0), (.q5_K_M, .q5_1)] {
            for name in ["qwen35-dense-tiny", "qwen35-moe-tiny"] {
                let dir = Qwen35ReferenceTests.fixtures.appendingPathComponent("models/\(name)")
                let config = try Qwen35Config.load(directory: dir)
                let url = tmp.appendingPathComponent("\(name)-\(mix.rawValue).gguf")
                try Qwen35GGUFExport.writer(config: config, store: try WeightStore(directory: dir), mix: mix).write(to: url)
                let file = try GGUFFile(path: url.path)
                let legacy = file.tensors.filter { $0.format == fallback }
                XCTAssertFalse(legacy.isEmpty, "\(name) \(mix): expected \(fallback) fallbacks")
                if qk_x16_supported(Int32(fallback.rawValue)) != 0, let inter = config.intermediateSize,
                   file.tensor("blk.0.ffn_gate.weight")?.format == fallback {
                    // The loader's packing of a dense projection in the fallback format.
                    let w = try Qwen35GGUFSource(file: file, config: config)
                        .take("model.layers.0.mlp.gate_proj.weight", shape: [inter, config.hiddenSize])
                    XCTAssertNotNil(w.packed, "\(name) \(mix): \(fallback) ffn_gate not repacked")
                }
                let model = try Qwen35Model(gguf: url)
                let v = model.vocabSize
                var base = model.makeState()
                let first = model.forward([1, 2, 3, 4, 5], state: &base, allLogits: false)
                XCTAssertTrue(first.allSatisfy(\.isFinite), "\(name) \(mix): finite logits")
                var one = base
                let single = model.forward([9], state: &one, allLogits: false)
                var states = Array(repeating: base, count: 70)
                let rows = model.forwardBatch((0..<70).map { [$0 == 33 ? 9 : ($0 * 13) % v] }, states: &states)
                XCTAssertEqual(Array(rows[(33 * v)..<(34 * v)]), single, "\(name) \(mix): decode row in a 70-row batch")
                var pair = [base, one]
                let chunk = Array(0..<64).map { ($0 * 5 + 1) % v }
                let mixed = model.forwardBatch([[9], chunk], states: &pair)
                XCTAssertEqual(Array(mixed[0..<v]), single, "\(name) \(mix): decode row beside a prefill chunk")
            }
        }
    }
}
