import XCTest
import Foundation
import GGUF
import Kernels
import SafeTensors
import TensorCore
@testable import LanguageModels

/// K-quant weights end to end: the fixture models widened to hidden size 256 (K-quant rows are whole 256-blocks;
/// the fixtures' 64 would fall back to Q5_0 / Q8_0) with random weights, written as safetensors, quantised to
/// Q4_K_M by `Qwen35GGUFExport` (llama.cpp's mixture: Q4_K, Q6_K, Q5_K and Q8_0 tensors), loaded back through
/// the GGUF loader. The decode rows are then bit-identical alone or batched (as for Q8_0).
final class KQuantModelTests: XCTestCase {
    /// Takes whatever the layers ask for as random f32 values and remembers it, to write a checkpoint of any size.
    final class RecordingSource: WeightSource, @unchecked Sendable {
        var taken: [(String, [Int], [Float])] = []
        var rng: UInt64 = 17
        let source = "random"
        func contains(_ name: String) -> Bool { true }
        func take(_ name: String, shape: [Int]) throws -> WeightTensor {
            let values = (0..<shape.reduce(1, *)).map { _ -> Float in
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                return (Float(rng >> 40) / Float(1 << 24) - 0.5) * 0.2
            }
            taken.append((name, shape, values))
            return WeightTensor.f32(values, shape: shape)
        }
        func skip(where rule: (String) -> Bool) -> Int { 0 }
        func finish() throws {}
        var storedTensors: [StoredTensorInfo] { [] }
    }

    /// A checkpoint directory for the fixture `name` with K-quantisable widths.
    static func wideCheckpoint(_ name: String, in tmp: URL, valueHeadDim: Int? = nil) throws -> URL {
        let fixture = Qwen35ReferenceTests.fixtures.appendingPathComponent("models/\(name)")
        let dir = tmp.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var text = try String(contentsOf: fixture.appendingPathComponent("config.json"), encoding: .utf8)
        for (from, to) in [("\"hidden_size\": 64,", "\"hidden_size\": 256,"), ("\"intermediate_size\": 128,", "\"intermediate_size\": 256,"),
                           ("\"moe_intermediate_size\": 32,", "\"moe_intermediate_size\": 256,"),
                           ("\"shared_expert_intermediate_size\": 48,", "\"shared_expert_intermediate_size\": 256,")] {
            text = text.replacingOccurrences(of: from, with: to)
        }
        if let d = valueHeadDim { text = text.replacingOccurrences(of: "\"linear_value_head_dim\": 32,", with: "\"linear_value_head_dim\": \(d),") }
        try text.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let config = try Qwen35Config.load(directory: dir)
        XCTAssertEqual(config.hiddenSize, 256)
        let recorder = RecordingSource()
        _ = try Qwen35Model(config: config, store: recorder)
        var writer = SafeTensorsWriter()
        for (tensor, shape, values) in recorder.taken { writer.add(tensor, shape: shape, f32: values) }
        try writer.write(to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    func testQ4_K_MDecodeRowsAreBatchInvariant() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("kquant-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for name in ["qwen35-dense-tiny", "qwen35-moe-tiny"] {
            let dir = try Self.wideCheckpoint(name, in: tmp)
            let url = tmp.appendingPathComponent("\(name)-Q4_K_M.gguf")
            try Qwen35GGUFExport.writer(config: try Qwen35Config.load(directory: dir), store: try WeightStore(directory: dir),
                                        mix: .q4_K_M).write(to: url)
            let formats = Set(try GGUFFile(path: url.path).tensors.map(\.format))
            XCTAssertTrue(formats.isSuperset(of: [.q4_K, .q6_K, .f32]), "\(name): \(formats)")
            let model = try Qwen35Model(gguf: url), f32 = try Qwen35Model(directory: dir)
            let v = model.vocabSize

            var base = model.makeState(), baseF32 = f32.makeState()
            let prompt = [1, 2, 3, 4, 5]
            let first = model.forward(prompt, state: &base, allLogits: false)
            let firstF32 = f32.forward(prompt, state: &baseF32, allLogits: false)
            // Random weights amplify quantisation noise (and flip MoE routing), so the distance to f32 is only
            // reported here: the quantisers are pinned to llama.cpp's blocks and the kernels to their twins.
            let err = zip(first, firstF32).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            let norm = firstF32.map { $0 * $0 }.reduce(0, +).squareRoot()
            print("\(name) Q4_K_M vs f32 logits: relative L2 \(err / norm)")
            XCTAssertTrue(first.allSatisfy(\.isFinite), "\(name): finite logits")
            var one = base
            let single = model.forward([9], state: &one, allLogits: false)
            var states = Array(repeating: base, count: 70)
            let rows = model.forwardBatch((0..<70).map { [$0 == 33 ? 9 : ($0 * 13) % v] }, states: &states)
            XCTAssertEqual(Array(rows[(33 * v)..<(34 * v)]), single, "\(name) Q4_K_M: decode row in a 70-row batch")
            XCTAssertEqual(states[33], one, "\(name) Q4_K_M: state after the batched step")
            var pair = [base, one]
            let chunk = Array(0..<64).map { ($0 * 5 + 1) % v }
            let mixed = model.forwardBatch([[9], chunk], states: &pair)
            XCTAssertEqual(Array(mixed[0..<v]), single, "\(name) Q4_K_M: decode row beside a prefill chunk")
            // A prompt in one forward gives the bits of 64-token forwards (Segments.pieces), MoE routing included.
            let long = Array(0..<193).map { ($0 * 29 + 11) % v }
            var grid = model.makeState(), wide = model.makeState()
            var gridLogits: [Float] = []
            for start in stride(from: 0, to: long.count, by: 64) {
                gridLogits = model.forward(Array(long[start..<min(long.count, start + 64)]), state: &grid, allLogits: false)
            }
            XCTAssertEqual(model.forward(long, state: &wide, allLogits: false), gridLogits, "\(name) Q4_K_M: 193 tokens in one forward")
            XCTAssertEqual(wide, grid, "\(name) Q4_K_M: state after the prompt")
        }
    }

    /// The released 35B-A3B has 32 value heads of 128 over 16 key heads, and llama.cpp tiles the value heads of
    /// ssm_out's input columns: in Q4_K (256-column blocks) two heads share a block, so the columns cannot be
    /// moved back block by block (loading failed). The weight now keeps its stored order and matmul gathers its
    /// input: out_proj through the GGUF must equal the f32 checkpoint's product up to Q4_K rounding, where a
    /// wrong column order would be uncorrelated with it.
    func testTiledValueHeadsNarrowerThanAKQuantBlock() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("kquant-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let dir = try Self.wideCheckpoint("qwen35-dense-tiny", in: tmp, valueHeadDim: 128)
        let config = try Qwen35Config.load(directory: dir)
        XCTAssertGreaterThan(config.linearNumValueHeads, config.linearNumKeyHeads, "the fixture must have tiled V heads")
        let url = tmp.appendingPathComponent("tiled-Q4_K_M.gguf")
        let store = try WeightStore(directory: dir)
        try Qwen35GGUFExport.writer(config: config, store: store, mix: .q4_K_M).write(to: url)
        let file = try GGUFFile(path: url.path)
        XCTAssertEqual(file.tensor("blk.0.ssm_out.weight")?.format, .q4_K)
        let source = Qwen35GGUFSource(file: file, config: config)
        let name = "model.layers.0.linear_attn.out_proj.weight"
        let shape = [config.hiddenSize, config.linearNumValueHeads * config.linearValueHeadDim]
        let w = try source.take(name, shape: shape)
        XCTAssertNotNil(w.columnSource)
        let exact = try store.take(Qwen35Checkpoint(config: config).backbone + "layers.0.linear_attn.out_proj.weight", shape: shape)
        var rng: UInt64 = 5
        let x = (0..<(3 * shape[1])).map { _ -> Float in
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Float(rng >> 40) / Float(1 << 24) - 0.5
        }
        let y = matmul(x, w, tokens: 3), yExact = matmul(x, exact, tokens: 3)   // [3, H]
        let err = zip(y, yExact).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = yExact.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertLessThan(err / norm, 0.1, "Q4_K out_proj with tiled V heads vs f32: relative L2 \(err / norm)")
        _ = try Qwen35Model(gguf: url)   // the whole model loads
    }
}
