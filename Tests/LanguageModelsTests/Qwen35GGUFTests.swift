import XCTest
import Foundation
import GGUF
import SafeTensors
import TensorCore
@testable import LanguageModels

/// The fixture models written as F32 GGUFs in llama.cpp's converter layout by the project's own writer
/// (`Qwen35GGUFExport`: GGUF names, +1 norms, `-exp(A_log)`, tiled V heads, split experts), loaded back through
/// `Qwen35GGUFSource` and compared with transformers' logits like the safetensors path (1e-4).
final class Qwen35GGUFTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private func exportGGUF(_ name: String) throws -> URL {
        let dir = Qwen35ReferenceTests.fixtures.appendingPathComponent("models/\(name)")
        let config = try Qwen35Config.load(directory: dir)
        let store = try WeightStore(directory: dir)
        let url = tmp.appendingPathComponent("\(name).gguf")
        try Qwen35GGUFExport.writer(config: config, store: store).write(to: url)
        return url
    }

    func testF32GGUFOfFixturesGivesFixtureLogits() throws {
        for name in ["qwen35-dense-tiny", "qwen35-moe-tiny"] {
            let url = try exportGGUF(name)
            let model = try Qwen35Model(gguf: url)
            let refs = try Qwen35ReferenceTests.fixture(name)
            XCTAssertEqual(model.config.numHiddenLayers, refs.model.config.numHiddenLayers)
            XCTAssertEqual(model.config.layerTypes, refs.model.config.layerTypes)
            XCTAssertEqual(model.config.linearNumValueHeads, refs.model.config.linearNumValueHeads)
            XCTAssertEqual(model.config.tieWordEmbeddings, refs.model.config.tieWordEmbeddings)
            for k in 0..<4 {
                let ids = try refs.ids("p\(k).input_ids")
                var state = model.makeState()
                let logits = model.forward(ids, state: &state, allLogits: true)
                let d = Qwen35ReferenceTests.maxAbs(logits, try refs.tensor("p\(k).logits"))
                print("\(name).gguf p\(k) (T=\(ids.count)) logits max |Δ| = \(d)")
                XCTAssertLessThanOrEqual(d, Qwen35ReferenceTests.logitTolerance, "\(name).gguf p\(k)")
            }
        }
    }

    /// YaRN survives the trip through `rope.scaling.*` metadata: same config, transformers' logits (1e-4).
    func testYaRNGGUFGivesFixtureLogits() throws {
        let url = try exportGGUF(YaRNReferenceTests.name)
        let model = try Qwen35Model(gguf: url)
        let refs = try Qwen35ReferenceTests.fixture(YaRNReferenceTests.name)
        XCTAssertEqual(model.config.ropeScaling, refs.model.config.ropeScaling)
        XCTAssertEqual(model.maxContextLength, 256)
        let ids = try refs.ids("input_ids")
        var state = model.makeState()
        let logits = model.forward(ids, state: &state, allLogits: true)   // [T, V]
        XCTAssertLessThanOrEqual(Qwen35ReferenceTests.maxAbs(logits, try refs.tensor("logits")), Qwen35ReferenceTests.logitTolerance)

        // A scaling llama.cpp writes that QwenKit does not compute is named, not ignored.
        var w = try Qwen35GGUFExport.writer(config: refs.model.config, store: WeightStore(
            directory: Qwen35ReferenceTests.fixtures.appendingPathComponent("models/\(YaRNReferenceTests.name)")))
        w.add("qwen35.rope.scaling.yarn_ext_factor", .float32(0.5))
        let odd = tmp.appendingPathComponent("ext.gguf")
        try w.write(to: odd)
        XCTAssertThrowsError(try Qwen35Model(gguf: odd)) { XCTAssertTrue("\($0)".contains("qwen35.rope.scaling.yarn_ext_factor"), "\($0)") }
    }

    /// The MTP block is written as llama.cpp's converter writes it (`_QwenMtpMixin`): one extra layer `blk.<L>`
    /// with the trunk's tensor names plus `nextn.*`, `+1` on every norm, the MoE layer's per-expert tensors
    /// stacked, `block_count` = L + 1, `nextn_predict_layers` = 1 and a full-attention entry in
    /// `recurrent_layers`; the loader still takes the trunk only (strictly: every tensor consumed or skipped).
    func testMTPBlockIsWrittenLikeTheConverter() throws {
        for name in ["qwen35-dense-tiny", "qwen35-moe-tiny"] {
            let dir = Qwen35ReferenceTests.fixtures.appendingPathComponent("models/\(name)")
            let config = try Qwen35Config.load(directory: dir)
            let store = try WeightStore(directory: dir)
            let file = try GGUFFile(path: try exportGGUF(name).path)
            let arch = config.isMoE ? "qwen35moe" : "qwen35", L = config.numHiddenLayers
            XCTAssertEqual(file.metadata["\(arch).block_count"]?.int, L + 1, name)
            XCTAssertEqual(file.metadata["\(arch).nextn_predict_layers"]?.int, 1, name)
            let recurrent = file.metadata["\(arch).attention.recurrent_layers"]?.array?.compactMap(\.bool)
            XCTAssertEqual(recurrent, config.layerTypes.map { $0 == .linearAttention } + [false], name)
            XCTAssertEqual(file.metadata["\(arch).full_attention_interval"]?.int, 4, name)

            var expected = ["attn_k.weight", "attn_k_norm.weight", "attn_norm.weight", "attn_output.weight", "attn_q.weight",
                            "attn_q_norm.weight", "attn_v.weight", "post_attention_norm.weight", "nextn.eh_proj.weight",
                            "nextn.enorm.weight", "nextn.shared_head_norm.weight"]
            expected += config.isMoE
                ? ["ffn_down_exps.weight", "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_gate_inp.weight",
                   "ffn_down_shexp.weight", "ffn_gate_shexp.weight", "ffn_up_shexp.weight", "ffn_gate_inp_shexp.weight"]
                : ["ffn_down.weight", "ffn_gate.weight", "ffn_up.weight"]
            if store.entries["mtp.pre_fc_norm_hidden.weight"] != nil { expected.append("nextn.hnorm.weight") }
            let mtpNames = file.tensors.map(\.name).filter { $0.hasPrefix("blk.\(L).") }
            XCTAssertEqual(Set(mtpNames), Set(expected.map { "blk.\(L).\($0)" }), name)

            func stored(_ g: String) throws -> [Float] { try XCTUnwrap(file.tensor(g), g).toFloats() }
            func checkpoint(_ n: String) throws -> [Float] { try store.take(n, shape: store.entries[n]!.shape).toFloats() }
            XCTAssertEqual(try stored("blk.\(L).nextn.eh_proj.weight"), try checkpoint("mtp.fc.weight"), name)
            XCTAssertEqual(try stored("blk.\(L).attn_q.weight"), try checkpoint("mtp.layers.0.self_attn.q_proj.weight"), name)
            for (g, n) in [("nextn.enorm", "mtp.pre_fc_norm_embedding"), ("nextn.shared_head_norm", "mtp.norm"),
                           ("attn_norm", "mtp.layers.0.input_layernorm"), ("attn_q_norm", "mtp.layers.0.self_attn.q_norm")] {
                XCTAssertEqual(try stored("blk.\(L).\(g).weight"), try checkpoint("\(n).weight").map { $0 + 1 }, "\(name) \(g): +1")
            }
            if let experts = config.numExperts {
                for (g, proj) in [("ffn_gate_exps", "gate_proj"), ("ffn_up_exps", "up_proj"), ("ffn_down_exps", "down_proj")] {
                    let t = try XCTUnwrap(file.tensor("blk.\(L).\(g).weight"))
                    let one = store.entries["mtp.layers.0.mlp.experts.0.\(proj).weight"]!.shape
                    XCTAssertEqual(t.shape, [experts] + one, "\(name) \(g)")
                    let stacked = try (0..<experts).flatMap { try checkpoint("mtp.layers.0.mlp.experts.\($0).\(proj).weight") }
                    XCTAssertEqual(t.toFloats(), stacked, "\(name) \(g): experts in order")
                }
                XCTAssertEqual(file.tensor("blk.\(L).ffn_gate_inp_shexp.weight")?.shape, [config.hiddenSize])
            }
            XCTAssertNoThrow(try Qwen35Model(gguf: URL(fileURLWithPath: file.path)), name)
        }
    }

    func testConfigFromMetadataAndStrictness() throws {
        let url = try exportGGUF("qwen35-dense-tiny")
        let file = try GGUFFile(path: url.path)
        let config = try Qwen35Config.load(gguf: file)
        let dir = Qwen35ReferenceTests.fixtures.appendingPathComponent("models/qwen35-dense-tiny")
        let hf = try Qwen35Config.load(directory: dir)
        XCTAssertEqual(config.hiddenSize, hf.hiddenSize)
        XCTAssertEqual(config.rotaryDim, hf.rotaryDim)
        XCTAssertEqual(config.linearValueHeadDim, hf.linearValueHeadDim)
        XCTAssertEqual(config.intermediateSize, hf.intermediateSize)
        XCTAssertEqual(config.rmsNormEps, hf.rmsNormEps)

        // An extra tensor is not silently ignored; a missing one names its GGUF name.
        var w = try Qwen35GGUFExport.writer(config: hf, store: WeightStore(directory: dir))
        w.addTensor("blk.0.surprise.weight", shape: [2], values: [1, 2])
        let extra = tmp.appendingPathComponent("extra.gguf")
        try w.write(to: extra)
        XCTAssertThrowsError(try Qwen35Model(gguf: extra)) { XCTAssertTrue("\($0)".contains("blk.0.surprise.weight"), "\($0)") }

        var arch = GGUFWriter()
        arch.add("general.architecture", .string("llama"))
        let llama = tmp.appendingPathComponent("llama.gguf")
        try arch.write(to: llama)
        XCTAssertThrowsError(try Qwen35Model(gguf: llama)) { XCTAssertTrue("\($0)".contains("llama"), "\($0)") }
    }
}
