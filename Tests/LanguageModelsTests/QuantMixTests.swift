import XCTest
import Foundation
import TensorCore
@testable import LanguageModels

/// The per-tensor formats of `Qwen35QuantPlan` against llama-quantize's own choices for the same tensors
/// (`Tests/Fixtures/gguf/*-Q4_K_M.types.txt`: name, type and ggml dims of every tensor of a Q4_K_M file llama.cpp
/// wrote: the 24-layer dense bench-0.8b and the 4-layer, 256-expert bench-35b-a3b-L4, each with its MTP block as
/// one extra layer), and the rules those files do not reach (8 experts, fallbacks).
final class QuantMixTests: XCTestCase {
    /// Every tensor of the file in its order, with the file's block count (trunk + MTP: llama.cpp's `n_layer_all`).
    private func checkAgainstLlamaQuantize(_ file: String, experts: Int) throws -> [WeightFormat: Int] {
        let url = Qwen35ReferenceTests.fixtures.appendingPathComponent("gguf/\(file)")
        let rows = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let blocks = rows.compactMap { Qwen35QuantPlan.layerIndex($0[0]) }.max()! + 1
        var plan = Qwen35QuantPlan(mix: .q4_K_M, layers: blocks, experts: experts, names: rows.map { $0[0] })
        var seen: [WeightFormat: Int] = [:]
        for r in rows {
            let shape = r[2].split(separator: ",").map { Int($0)! }.reversed().map { $0 }   // PyTorch order
            let got = plan.format(for: r[0], shape: shape)
            XCTAssertEqual(got.description, r[1], "\(file): \(r[0])")
            seen[got, default: 0] += 1
        }
        return seen
    }

    func testQ4_K_MMatchesLlamaQuantizeOnBench08B() throws {
        let seen = try checkAgainstLlamaQuantize("bench-0.8b-Q4_K_M.types.txt", experts: 0)
        XCTAssertEqual(Set(seen.keys), [.f32, .q4_K, .q6_K], "the file mixes these three")
    }

    /// With 5 blocks (4 + MTP) use_more_bits picks layer 4 for ffn_down_exps / attn_v, not layer 3: the MTP block
    /// counts in `n_layer_all` and among the attn_v tensors.
    func testQ4_K_MMatchesLlamaQuantizeOnBench35BL4() throws {
        let seen = try checkAgainstLlamaQuantize("bench-35b-a3b-L4-Q4_K_M.types.txt", experts: 256)
        XCTAssertEqual(Set(seen.keys), [.f32, .q4_K, .q6_K], "the file mixes these three")
        var trunkOnly = Qwen35QuantPlan(mix: .q4_K_M, layers: 4, experts: 256, names: [])
        XCTAssertEqual(trunkOnly.format(for: "blk.3.ffn_down_exps.weight", shape: [256, 2048, 512]), .q6_K,
                       "without the MTP block layer 3 would be the last eighth")
    }

    func testExpertAndFallbackRules() {
        let names = (0..<8).flatMap { ["blk.\($0).attn_v.weight", "blk.\($0).ffn_down_exps.weight"] } + ["output.weight"]
        var plan = Qwen35QuantPlan(mix: .q4_K_M, layers: 8, experts: 8, names: names)
        XCTAssertEqual(plan.format(for: "token_embd.weight", shape: [512, 256]), .q4_K, "untied: the default type")
        XCTAssertEqual(plan.format(for: "output.weight", shape: [512, 256]), .q6_K)
        XCTAssertEqual(plan.format(for: "blk.3.attn_v.weight", shape: [64, 256]), .q8_0, "8 experts: attn_v Q8_0")
        XCTAssertEqual(plan.format(for: "blk.3.attn_k.weight", shape: [64, 256]), .q8_0, "8 experts: attn_k Q8_0")
        XCTAssertEqual(plan.format(for: "blk.3.attn_output.weight", shape: [256, 256]), .q5_K, "8 experts: attn_output Q5_K")
        // MoE ffn_down: the layer comes from the name (use_more_bits(i, 8): layers 0, 3, 6, 7).
        XCTAssertEqual(plan.format(for: "blk.3.ffn_down_exps.weight", shape: [8, 256, 256]), .q6_K)
        XCTAssertEqual(plan.format(for: "blk.2.ffn_down_exps.weight", shape: [8, 256, 256]), .q4_K)
        XCTAssertEqual(plan.format(for: "blk.0.ffn_gate_inp.weight", shape: [8, 256]), .f32, "router stays F32")
        XCTAssertEqual(plan.format(for: "blk.0.ssm_conv1d.weight", shape: [192, 4]), .f32)
        XCTAssertEqual(plan.format(for: "blk.0.attn_norm.weight", shape: [256]), .f32)
        // Rows that are not whole 256-blocks: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, else F16.
        XCTAssertEqual(plan.format(for: "blk.0.ffn_gate_exps.weight", shape: [8, 32, 64]), .q5_0)
        XCTAssertEqual(plan.format(for: "blk.0.ssm_out.weight", shape: [64, 48]), .f16)
        var q5 = Qwen35QuantPlan(mix: .q5_K_M, layers: 8, experts: 0, names: [])
        XCTAssertEqual(q5.format(for: "blk.4.ssm_out.weight", shape: [64, 64]), .q5_1)
        var q6 = Qwen35QuantPlan(mix: .q6_K, layers: 8, experts: 0, names: ["token_embd.weight"])
        XCTAssertEqual(q6.format(for: "token_embd.weight", shape: [512, 64]), .q8_0, "tied output rules, rows of 64")
    }
}
