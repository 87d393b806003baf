import Foundation
import XCTest
import Kernels
@testable import LanguageModels

/// `rope_parameters` with a scaling type: transformers' defaults, the context the scaling reaches, and a
/// named error for what QwenKit does not compute.
final class RoPEConfigTests: XCTestCase {
    /// A flat text config with `rope_parameters` replaced by `rope` (and the top level edited by `edit`).
    private func load(rope: [String: Any]?, _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> Qwen35Config {
        var top: [String: Any] = [
            "model_type": "qwen3_5_text", "vocab_size": 512, "hidden_size": 64, "num_hidden_layers": 4,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "linear_num_key_heads": 2,
            "linear_num_value_heads": 4, "linear_key_head_dim": 16, "linear_value_head_dim": 32,
            "intermediate_size": 128, "max_position_embeddings": 262144, "rope_theta": 1e7,
        ]
        if let rope { top["rope_parameters"] = rope }
        edit(&top)
        return try Qwen35Config.load(data: JSONSerialization.data(withJSONObject: top), source: "/m/config.json")
    }

    private func assertFails(rope: [String: Any]?, _ edit: (inout [String: Any]) -> Void = { _ in },
                             mentioning parts: [String], line: UInt = #line) {
        XCTAssertThrowsError(try load(rope: rope, edit), line: line) { e in
            let text = String(describing: e)
            for p in ["/m/config.json"] + parts {
                XCTAssertTrue(text.contains(p), "\"\(text)\" should mention \"\(p)\"", line: line)
            }
        }
    }

    /// The released models' long-context recipe: max_position_embeddings stays 262,144, YaRN × 4 over it.
    func testReleasedYaRNRecipe() throws {
        let c = try load(rope: ["rope_type": "yarn", "rope_theta": 1e7, "partial_rotary_factor": 0.25, "factor": 4.0,
                                "original_max_position_embeddings": 262144, "mrope_section": [11, 11, 10],
                                "mrope_interleaved": true])
        XCTAssertEqual(c.ropeScaling, .yarn(.init(factor: 4, originalMaxPositions: 262144)))
        XCTAssertEqual(c.maxPositionEmbeddings, 262144)
        XCTAssertEqual(c.contextLength, 1_048_576)
    }

    func testDefaultsAndPlainRoPE() throws {
        XCTAssertEqual(try load(rope: nil).ropeScaling, .none)
        XCTAssertEqual(try load(rope: nil).contextLength, 262144)
        XCTAssertEqual(try load(rope: ["rope_type": "default", "rope_theta": 1e7]).ropeScaling, .none)
        // original_max_position_embeddings defaults to max_position_embeddings (standardize_rope_params).
        let y = try load(rope: ["rope_type": "yarn", "rope_theta": 1e7, "factor": 2, "beta_fast": 16, "truncate": false,
                                "attention_factor": 1.5]) { $0["max_position_embeddings"] = 4096 }
        XCTAssertEqual(y.ropeScaling, .yarn(.init(factor: 2, originalMaxPositions: 4096, betaFast: 16,
                                                  attentionFactor: 1.5, truncate: false)))
        XCTAssertEqual(y.contextLength, 8192)
        // A top-level original_max_position_embeddings wins (transformers' Phi-3 exception).
        let top = try load(rope: ["rope_type": "yarn", "rope_theta": 1e7, "factor": 2,
                                  "original_max_position_embeddings": 4096]) { $0["original_max_position_embeddings"] = 1024 }
        XCTAssertEqual(top.contextLength, 262144, "max(262144, 2 × 1024)")
        guard case .yarn(let p) = top.ropeScaling else { return XCTFail("not yarn") }
        XCTAssertEqual(p.originalMaxPositions, 1024)
    }

    func testLinearAndLegacySpellings() throws {
        let linear = try load(rope: ["rope_type": "linear", "rope_theta": 1e7, "factor": 2])
        XCTAssertEqual(linear.ropeScaling, .linear(factor: 2))
        XCTAssertEqual(linear.contextLength, 524288)
        // "type" is the old spelling of "rope_type"; a legacy rope_scaling replaces rope_parameters.
        XCTAssertEqual(try load(rope: ["type": "linear", "rope_theta": 1e7, "factor": 3]).ropeScaling, .linear(factor: 3))
        let legacy = try load(rope: ["rope_type": "default", "rope_theta": 5e6]) {
            $0["rope_scaling"] = ["type": "yarn", "factor": 2.0, "original_max_position_embeddings": 1000]
        }
        XCTAssertEqual(legacy.ropeScaling, .yarn(.init(factor: 2, originalMaxPositions: 1000)))
        XCTAssertEqual(legacy.ropeTheta, 1e7, "rope_theta from the top level, as the replaced dict's is gone")
    }

    func testUnsupportedTypesAreNamed() {
        assertFails(rope: ["rope_type": "dynamic", "rope_theta": 1e7, "factor": 2],
                    mentioning: ["unsupported rope_parameters.rope_type \"dynamic\"", "longest sequence seen"])
        assertFails(rope: ["rope_type": "llama3", "rope_theta": 1e7, "factor": 8],
                    mentioning: ["rope_parameters.rope_type \"llama3\"", "supported: default, linear, yarn"])
        assertFails(rope: ["rope_theta": 1e7], { $0["rope_scaling"] = ["type": "longrope"] },
                    mentioning: ["rope_scaling.rope_type \"longrope\""])
    }

    func testBadScalingValues() {
        assertFails(rope: ["rope_type": "yarn", "rope_theta": 1e7],
                    mentioning: ["missing required field rope_parameters.factor (rope_type yarn)"])
        assertFails(rope: ["rope_type": "linear", "rope_theta": 1e7],
                    mentioning: ["missing required field rope_parameters.factor (rope_type linear)"])
        assertFails(rope: ["rope_type": "yarn", "rope_theta": 1e7, "factor": 0.5],
                    mentioning: ["rope_parameters.factor", "≥ 1, found 0.5"])
        assertFails(rope: ["rope_type": "yarn", "rope_theta": 1e7, "factor": 2, "original_max_position_embeddings": 64.5],
                    mentioning: ["rope_parameters.original_max_position_embeddings", "whole number", "64.5"])
        assertFails(rope: ["rope_type": "yarn", "rope_theta": 1e7, "factor": 2, "beta_slow": -1],
                    mentioning: ["rope_parameters.beta_fast", "must be positive"])
        assertFails(rope: ["rope_type": "yarn", "rope_theta": 1e7, "factor": 2, "factor_typo": 1, "attention_factor": "x"],
                    mentioning: ["rope_parameters.attention_factor must be a number"])
        assertFails(rope: ["rope_type": "linear", "rope_theta": 1e7, "factor": 1000],
                    mentioning: ["rope_parameters.factor", "stretches the context to 262144000 positions", "16777216"])
    }
}
