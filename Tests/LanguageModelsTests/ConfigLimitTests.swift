import Foundation
import XCTest
@testable import LanguageModels

/// Regressions for ../shared/fuzz-findings (config-*): sizes past `Qwen35Config.sizeLimits` are errors naming
/// the key path, before anything is derived from them (a 10^9-layer schedule, an Int.max head_dim that
/// wrapped the rotary and cache sizes).
final class ConfigLimitTests: XCTestCase {
    func fixture(_ finding: String) throws -> Data {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return try Data(contentsOf: root.appendingPathComponent("Fixtures/fuzz/\(finding)/config.json"))
    }

    func assertInvalid(_ data: Data, _ description: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Qwen35Config.load(data: data, source: "config.json"), file: file, line: line) { error in
            XCTAssertEqual("\(error)", description, file: file, line: line)
        }
    }

    func testHugeLayerCountWithoutLayerTypes() throws {
        assertInvalid(try fixture("config-inspect-memory-num-hidden-layers-10-9-no-layer-types"),
                      "config.json: field text_config.num_hidden_layers: must be at most 1024, found 1000000000")
    }

    func testIntMaxHeadDim() throws {
        assertInvalid(try fixture("config-inspect-wrong-output-head-dim-int-max"),
                      "config.json: field head_dim: must be at most 4096, found 9223372036854775807")
    }

    /// Every bounded size, one past its limit, in a flat text export.
    func testEveryLimitIsEnforced() throws {
        let base = try fixture("config-inspect-wrong-output-head-dim-int-max")
        guard var json = try JSONSerialization.jsonObject(with: base) as? [String: Any],
              var text = json["text_config"] as? [String: Any] else { return XCTFail("fixture shape") }
        text["head_dim"] = 32
        json["text_config"] = text
        XCTAssertNoThrow(try Qwen35Config.load(data: JSONSerialization.data(withJSONObject: json), source: "config.json"))
        for (key, limit) in Qwen35Config.sizeLimits where !["num_experts", "num_experts_per_tok", "moe_intermediate_size",
                                                               "shared_expert_intermediate_size", "layer_types"].contains(key) {
            var t = text
            t[key] = limit + 1
            if key == "num_hidden_layers" { t["layer_types"] = nil }
            var j = json
            j["text_config"] = t
            XCTAssertThrowsError(try Qwen35Config.load(data: JSONSerialization.data(withJSONObject: j), source: "config.json"), key) { error in
                XCTAssertTrue("\(error)".contains("\(key): must be at most \(limit)"), "\(key): \(error)")
            }
        }
    }
}
