import Foundation
import XCTest
@testable import LanguageModels

/// `Qwen35Config.load`: the released nested shape, flat text exports, defaults and derived values, and a
/// named error for every kind of bad config.
final class ConfigTests: XCTestCase {
    // MARK: - Helpers

    private static let textKeys: [String: Any] = [
        "vocab_size": 512, "hidden_size": 64, "num_hidden_layers": 4, "rms_norm_eps": 1e-6,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
        "linear_num_key_heads": 2, "linear_num_value_heads": 4, "linear_key_head_dim": 16,
        "linear_value_head_dim": 32, "linear_conv_kernel_dim": 4, "max_position_embeddings": 262144,
        "rope_parameters": ["rope_type": "default", "rope_theta": 10_000_000, "partial_rotary_factor": 0.25,
                            "mrope_section": [2, 1, 1], "mrope_interleaved": true],
        "eos_token_id": 504, "hidden_act": "silu", "attention_bias": false,
    ]
    private static let denseKeys: [String: Any] = ["intermediate_size": 128]
    private static let moeKeys: [String: Any] = [
        "num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 32, "shared_expert_intermediate_size": 48,
    ]

    /// A released-shape config (text keys inside `text_config`); `edit` changes the text keys.
    private func nested(moe: Bool = false, _ edit: (inout [String: Any]) -> Void = { _ in }) -> [String: Any] {
        var text = Self.textKeys.merging(moe ? Self.moeKeys : Self.denseKeys) { a, _ in a }
        text["model_type"] = moe ? "qwen3_5_moe_text" : "qwen3_5_text"
        edit(&text)
        return ["model_type": moe ? "qwen3_5_moe" : "qwen3_5", "text_config": text, "tie_word_embeddings": false,
                "vision_config": ["depth": 1]]
    }

    /// A flat text-only config.
    private func flat(moe: Bool = false, _ edit: (inout [String: Any]) -> Void = { _ in }) -> [String: Any] {
        var top = Self.textKeys.merging(moe ? Self.moeKeys : Self.denseKeys) { a, _ in a }
        top["model_type"] = moe ? "qwen3_5_moe_text" : "qwen3_5_text"
        edit(&top)
        return top
    }

    private func load(_ json: [String: Any]) throws -> Qwen35Config {
        try Qwen35Config.load(data: JSONSerialization.data(withJSONObject: json), source: "/m/config.json")
    }

    private func assertFails(_ json: [String: Any], mentioning parts: [String], line: UInt = #line) {
        do {
            let c = try load(json)
            XCTFail("expected an error, loaded \(c.modelType)", line: line)
        } catch {
            let text = String(describing: error)
            for p in ["/m/config.json"] + parts {
                XCTAssertTrue(text.contains(p), "\"\(text)\" should mention \"\(p)\"", line: line)
            }
        }
    }

    private func fixture(_ name: String) -> URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.lastPathComponent != "Tests" && url.path != "/" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/models").appendingPathComponent(name)
    }

    // MARK: - Fixtures

    func testDenseFixture() throws {
        let c = try Qwen35Config.load(directory: fixture("qwen35-dense-tiny"))
        XCTAssertEqual(c.modelType, "qwen3_5")
        XCTAssertTrue(c.isMultimodalWrapper)
        XCTAssertEqual([c.vocabSize, c.hiddenSize, c.numHiddenLayers, c.intermediateSize], [512, 64, 4, 128])
        XCTAssertEqual(c.layerTypes, [.linearAttention, .linearAttention, .linearAttention, .fullAttention])
        XCTAssertEqual([c.numAttentionHeads, c.numKeyValueHeads, c.headDim, c.rotaryDim], [4, 2, 32, 8])
        XCTAssertEqual([c.linearNumKeyHeads, c.linearNumValueHeads, c.linearKeyHeadDim, c.linearValueHeadDim,
                        c.linearConvKernelDim, c.convDim], [2, 4, 16, 32, 4, 192])
        XCTAssertEqual(c.ropeTheta, 1e7)
        XCTAssertEqual(c.rmsNormEps, 1e-6)
        XCTAssertEqual(c.maxPositionEmbeddings, 262144)
        XCTAssertEqual(c.eosTokenIds, [504])
        XCTAssertFalse(c.tieWordEmbeddings)
        XCTAssertFalse(c.isMoE)
        XCTAssertNil(c.numExperts)
    }

    func testMoEFixtures() throws {
        for name in ["qwen35-moe-tiny", "qwen35-moe-tiny-bf16"] {
            let c = try Qwen35Config.load(directory: fixture(name))
            XCTAssertEqual(c.modelType, "qwen3_5_moe", name)
            XCTAssertTrue(c.isMoE, name)
            XCTAssertEqual([c.numExperts, c.numExpertsPerTok, c.moeIntermediateSize, c.sharedExpertIntermediateSize],
                           [8, 2, 32, 48], name)
            XCTAssertNil(c.intermediateSize, name)
            XCTAssertEqual(c.partialRotaryFactor, 0.25, name)
        }
    }

    func testMissingDirectoryOrFile() {
        let dir = URL(fileURLWithPath: "/nonexistent/qwenkit-model")
        XCTAssertThrowsError(try Qwen35Config.load(directory: dir)) { e in
            XCTAssertEqual(String(describing: e), "/nonexistent/qwenkit-model: no such model directory")
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("qwenkit-cfg-\(UUID().uuidString)")
        XCTAssertNoThrow(try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true))
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try Qwen35Config.load(directory: empty)) { e in
            XCTAssertEqual(String(describing: e), "\(empty.path)/config.json: no such file")
        }
    }

    func testInvalidJSON() {
        XCTAssertThrowsError(try Qwen35Config.load(data: Data("{\"model_type\": ".utf8), source: "/m/config.json")) { e in
            XCTAssertTrue(String(describing: e).hasPrefix("/m/config.json: invalid JSON"), "\(e)")
        }
    }

    // MARK: - Shapes and derived values

    func testFlatTextShapesWithLegacyRopeKeys() throws {
        let c = try load(flat { t in
            t["rope_parameters"] = nil
            t["rope_theta"] = 5_000_000
            t["partial_rotary_factor"] = 0.5
        })
        XCTAssertEqual(c.modelType, "qwen3_5_text")
        XCTAssertFalse(c.isMultimodalWrapper)
        XCTAssertEqual(c.ropeTheta, 5e6)
        XCTAssertEqual(c.rotaryDim, 16)
        let m = try load(flat(moe: true))
        XCTAssertEqual(m.modelType, "qwen3_5_moe_text")
        XCTAssertEqual(m.numExperts, 8)
    }

    func testDefaults() throws {
        let c = try load(nested { t in
            for k in ["rms_norm_eps", "linear_conv_kernel_dim", "max_position_embeddings", "eos_token_id"] { t[k] = nil }
            t["rope_parameters"] = ["rope_theta": 1e7]
        })
        XCTAssertEqual(c.rmsNormEps, 1e-6)
        XCTAssertEqual(c.linearConvKernelDim, 4)
        XCTAssertEqual(c.maxPositionEmbeddings, 32768)
        XCTAssertEqual(c.partialRotaryFactor, 0.25)
        XCTAssertEqual(c.eosTokenIds, [])
    }

    func testTieWordEmbeddingsOuterFirst() throws {
        var j = nested { $0["tie_word_embeddings"] = false }
        j["tie_word_embeddings"] = true
        XCTAssertTrue(try load(j).tieWordEmbeddings)
        j = nested { $0["tie_word_embeddings"] = true }
        j["tie_word_embeddings"] = nil
        XCTAssertTrue(try load(j).tieWordEmbeddings)
        j["tie_word_embeddings"] = false
        XCTAssertFalse(try load(j).tieWordEmbeddings)
        XCTAssertTrue(try load(flat { $0["tie_word_embeddings"] = true }).tieWordEmbeddings)
    }

    func testLayerTypesDerivedFromInterval() throws {
        let c = try load(nested { $0["num_hidden_layers"] = 8 })
        XCTAssertEqual(c.layerTypes.map { $0 == .fullAttention ? "F" : "L" }.joined(), "LLLFLLLF")
        let d = try load(nested { $0["num_hidden_layers"] = 6; $0["full_attention_interval"] = 3 })
        XCTAssertEqual(d.layerTypes.map { $0 == .fullAttention ? "F" : "L" }.joined(), "LLFLLF")
        // An explicit list wins over the interval.
        let e = try load(nested {
            $0["full_attention_interval"] = 4
            $0["layer_types"] = ["full_attention", "linear_attention", "full_attention", "linear_attention"]
        })
        XCTAssertEqual(e.layerTypes, [.fullAttention, .linearAttention, .fullAttention, .linearAttention])
    }

    func testEOSIntOrList() throws {
        XCTAssertEqual(try load(nested { $0["eos_token_id"] = [3, 504] }).eosTokenIds, [3, 504])
        XCTAssertEqual(try load(nested { $0["eos_token_id"] = 7 }).eosTokenIds, [7])
        XCTAssertEqual(try load(nested { $0["eos_token_id"] = NSNull() }).eosTokenIds, [])
        assertFails(nested { $0["eos_token_id"] = "x" }, mentioning: ["field text_config.eos_token_id", "an integer or a list"])
        assertFails(nested { $0["eos_token_id"] = 9999 }, mentioning: ["eos_token_id", "outside the vocabulary"])
    }

    // MARK: - Errors

    func testMissingRequiredFieldsNameTheField() {
        for key in ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                    "head_dim", "linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim",
                    "linear_value_head_dim", "intermediate_size"] {
            assertFails(nested { $0[key] = nil }, mentioning: ["missing required field text_config.\(key)"])
            assertFails(flat { $0[key] = nil }, mentioning: [": missing required field \(key)"])
        }
        for key in Self.moeKeys.keys {
            assertFails(nested(moe: true) { $0[key] = nil }, mentioning: ["missing required field text_config.\(key)"])
        }
        assertFails(nested { $0["rope_parameters"] = ["rope_type": "default"] },
                    mentioning: ["missing required field text_config.rope_parameters.rope_theta"])
        var noType = nested()
        noType["model_type"] = nil
        assertFails(noType, mentioning: ["missing required field model_type"])
    }

    func testUnsupportedModelType() {
        var j = nested()
        j["model_type"] = "llama"
        assertFails(j, mentioning: ["unsupported model_type \"llama\"", "qwen3_5_moe_text"])
        assertFails(nested { $0["model_type"] = "qwen3_5_moe_text" },
                    mentioning: ["text_config.model_type", "does not match model_type \"qwen3_5\""])
    }

    func testWrongTypes() {
        assertFails(nested { $0["hidden_size"] = "64" }, mentioning: ["field text_config.hidden_size must be an integer"])
        assertFails(nested { $0["hidden_size"] = 64.5 }, mentioning: ["field text_config.hidden_size must be an integer"])
        assertFails(nested { $0["eos_token_id"] = [1, 2.5] }, mentioning: ["field text_config.eos_token_id must be an integer or a list of integers"])
        assertFails(nested { $0["rms_norm_eps"] = "small" }, mentioning: ["field text_config.rms_norm_eps must be a number"])
        assertFails(nested { $0["layer_types"] = "linear_attention" }, mentioning: ["field text_config.layer_types must be an array"])
        assertFails(nested { $0["layer_types"] = ["linear_attention", 3] }, mentioning: ["text_config.layer_types[1]", "a string"])
        assertFails(nested { $0["rope_parameters"] = ["rope_theta": "big"] },
                    mentioning: ["field text_config.rope_parameters.rope_theta must be a number"])
        var j = nested()
        j["tie_word_embeddings"] = "yes"
        assertFails(j, mentioning: ["field tie_word_embeddings must be a boolean"])
    }

    func testInconsistentValues() {
        assertFails(nested { $0["layer_types"] = ["linear_attention", "full_attention"] },
                    mentioning: ["field layer_types", "2 entries but num_hidden_layers is 4"])
        assertFails(nested { $0["layer_types"] = ["linear_attention", "mamba", "linear_attention", "full_attention"] },
                    mentioning: ["unsupported text_config.layer_types[1] \"mamba\""])
        assertFails(nested { $0["num_attention_heads"] = 6; $0["num_key_value_heads"] = 4 },
                    mentioning: ["num_key_value_heads", "4 does not divide num_attention_heads 6"])
        assertFails(nested { $0["linear_num_value_heads"] = 5 },
                    mentioning: ["linear_num_key_heads", "2 does not divide linear_num_value_heads 5"])
        assertFails(nested { $0["hidden_size"] = 0 }, mentioning: ["hidden_size", "must be positive"])
        assertFails(nested { $0["full_attention_interval"] = 0 }, mentioning: ["full_attention_interval", "must be positive"])
        assertFails(nested { $0["rope_parameters"] = ["rope_theta": 1e7, "partial_rotary_factor": 0.3] },
                    mentioning: ["partial_rotary_factor", "rotary dims"])
        assertFails(nested(moe: true) { $0["num_experts_per_tok"] = 9 },
                    mentioning: ["num_experts_per_tok", "9 exceeds num_experts 8"])
    }

    func testUnsupportedFeatures() {
        assertFails(nested { $0["hidden_act"] = "gelu" }, mentioning: ["unsupported text_config.hidden_act \"gelu\""])
        assertFails(nested { $0["attention_bias"] = true }, mentioning: ["unsupported text_config.attention_bias"])
        assertFails(nested { $0["rope_parameters"] = ["rope_type": "longrope", "rope_theta": 1e7] },
                    mentioning: ["unsupported text_config.rope_parameters.rope_type \"longrope\"", "supported: default, linear, yarn"])
        assertFails(nested(moe: true) { $0["mlp_only_layers"] = [0] }, mentioning: ["mlp_only_layers"])
        XCTAssertNoThrow(try load(nested { $0["mlp_only_layers"] = [Int]() }))
    }

    func testValidateOnConstructedConfig() throws {
        var c = try load(nested())
        XCTAssertNoThrow(try c.validate())
        c.layerTypes.removeLast()
        XCTAssertThrowsError(try c.validate()) { e in
            XCTAssertEqual(String(describing: e), "field layer_types: has 3 entries but num_hidden_layers is 4")
        }
    }
}
