import XCTest
import Foundation
import TensorCore
@testable import LanguageModels

/// The per-tensor formats of `Qwen35QuantPlan` against llama-quantize's own choices for the same tensors
/// (`Tests/Fixtures/gguf/bench-0.8b-Q4_K_M.types.txt`: name, type and ggml dims of every tensor of a 24-layer
/// qwen35 Q4_K_M file llama.cpp wrote), and the rules the dense file does not reach (8 experts, fallbacks).
final class QuantMixTests: XCTestCase {
    func testQ4_K_MMatchesLlamaQuantizeOnBench08B() throws {
        let url = Qwen35ReferenceTests.fixtures.appendingPathComponent("gguf/bench-0.8b-Q4_K_M.types.txt")
        let rows = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        // llama.cpp's file has the MTP block as blk.24 (QwenKit does not write it); the trunk is numbered alike,
        // and with 24 instead of 25 attn_v / ffn_down tensors use_more_bits picks the same trunk layers.
        let trunk = rows.filter { !$0[0].hasPrefix("blk.24.") }
        var plan = Qwen35QuantPlan(mix: .q4_K_M, layers: 24, experts: 0, names: trunk.map { $0[0] })
        var seen: [WeightFormat: Int] = [:]
        for r in trunk {
            let shape = r[2].split(separator: ",").map { Int($0)! }.reversed().map { $0 }   // PyTorch order
            let got = plan.format(for: r[0], shape: shape)
            XCTAssertEqual(got.description, r[1], r[0])
            seen[got, default: 0] += 1
        }
        XCTAssertEqual(Set(seen.keys), [.f32, .q4_K, .q6_K], "the file mixes these three")
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
