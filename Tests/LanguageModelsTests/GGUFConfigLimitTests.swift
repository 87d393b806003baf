import XCTest
import Foundation
import GGUF
@testable import LanguageModels

/// Config metadata from a GGUF is bounded before the loader computes with it: counts it divides by or loops up
/// to are positive and within `Qwen35Config.sizeLimits`, and a bad one is an error naming the key (it trapped:
/// division by zero, a negative range, or an allocation of 2^62 layer types).
final class GGUFConfigLimitTests: XCTestCase {
    /// A minimal qwen35 GGUF (the dense fixture's geometry) with `overrides` replacing or removing keys.
    private func load(_ overrides: [String: GGUFValue?]) throws -> Qwen35Config {
        var metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string("qwen35")), ("qwen35.block_count", .uint32(5)),
            ("qwen35.nextn_predict_layers", .uint32(1)), ("qwen35.context_length", .uint32(4096)),
            ("qwen35.embedding_length", .uint32(64)), ("qwen35.feed_forward_length", .uint32(128)),
            ("qwen35.attention.head_count", .uint32(4)), ("qwen35.attention.head_count_kv", .uint32(2)),
            ("qwen35.attention.key_length", .uint32(32)), ("qwen35.attention.layer_norm_rms_epsilon", .float32(1e-6)),
            ("qwen35.rope.freq_base", .float32(1e7)), ("qwen35.rope.dimension_count", .uint32(8)),
            ("qwen35.ssm.conv_kernel", .uint32(4)), ("qwen35.ssm.state_size", .uint32(16)),
            ("qwen35.ssm.group_count", .uint32(2)), ("qwen35.ssm.time_step_rank", .uint32(4)),
            ("qwen35.ssm.inner_size", .uint32(128)), ("qwen35.full_attention_interval", .uint32(4)),
        ]
        for (key, value) in overrides {
            metadata.removeAll { $0.0 == key }
            if let value { metadata.append((key, value)) }
        }
        var w = GGUFWriter()
        for (k, v) in metadata { w.add(k, v) }
        w.addTensor("token_embd.weight", shape: [8, 64], values: [Float](repeating: 0, count: 8 * 64))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-config-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try w.write(to: url)
        return try Qwen35Config.load(gguf: GGUFFile(path: url.path))
    }

    private func assertFails(_ overrides: [String: GGUFValue?], naming key: String, line: UInt = #line) {
        XCTAssertThrowsError(try load(overrides), line: line) { XCTAssertTrue("\($0)".contains(key), "\($0)", line: line) }
    }

    func testValidMetadataLoads() throws {
        let config = try load([:])
        XCTAssertEqual(config.numHiddenLayers, 4)
        XCTAssertEqual(config.layerTypes, [.linearAttention, .linearAttention, .linearAttention, .fullAttention])
        XCTAssertEqual(config.vocabSize, 8)
    }

    func testCountsAreBoundedBeforeUse() {
        // Divisors: head_count (without key_length), time_step_rank, full_attention_interval.
        assertFails(["qwen35.attention.head_count": .uint32(0), "qwen35.attention.key_length": nil], naming: "qwen35.attention.head_count")
        assertFails(["qwen35.ssm.time_step_rank": .int32(0)], naming: "qwen35.ssm.time_step_rank")
        assertFails(["qwen35.full_attention_interval": .uint32(0)], naming: "qwen35.full_attention_interval")
        // Layer counts: negative after the MTP blocks, huge, or Int.min (no overflow on subtracting).
        assertFails(["qwen35.block_count": .uint32(0)], naming: "qwen35.block_count")
        assertFails(["qwen35.block_count": .uint64(1 << 62)], naming: "qwen35.block_count")
        assertFails(["qwen35.block_count": .int64(.min)], naming: "qwen35.block_count")
        assertFails(["qwen35.nextn_predict_layers": .int64(.max)], naming: "qwen35.nextn_predict_layers")
        assertFails(["qwen35.nextn_predict_layers": .int32(-1)], naming: "qwen35.nextn_predict_layers")
    }
}
