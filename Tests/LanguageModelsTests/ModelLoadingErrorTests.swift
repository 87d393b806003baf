import XCTest
import Foundation
import SafeTensors
@testable import LanguageModels

/// The model refuses checkpoints that do not match its config, naming the tensor, instead of running wrong.
final class ModelLoadingErrorTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models")

    /// A copy of a fixture model whose config.json is edited by `edit`.
    func copy(_ name: String, edit: (inout String) -> Void) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = Self.fixtures.appendingPathComponent(name)
        for f in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let cfg = dir.appendingPathComponent("config.json")
        var text = try String(contentsOf: cfg, encoding: .utf8)
        edit(&text)
        try text.write(to: cfg, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func error(loading dir: URL) -> String? {
        do { _ = try Qwen35Model(directory: dir); return nil } catch { return "\(error)" }
    }

    func testShapeNotMatchingConfigNamesTheTensor() throws {
        let dir = try copy("qwen35-dense-tiny") { $0 = $0.replacingOccurrences(of: "\"intermediate_size\": 128", with: "\"intermediate_size\": 96") }
        let e = try XCTUnwrap(error(loading: dir))
        XCTAssertTrue(e.contains("mlp.gate_proj.weight") && e.contains("model.safetensors"), e)
    }

    func testDenseConfigOnMoECheckpointReportsTheUnusedOrMissingTensor() throws {
        let dir = try copy("qwen35-moe-tiny") {
            $0 = $0.replacingOccurrences(of: "\"num_experts\": 8,", with: "\"intermediate_size\": 32,")
                .replacingOccurrences(of: "qwen3_5_moe", with: "qwen3_5")
        }
        let e = try XCTUnwrap(error(loading: dir))
        XCTAssertTrue(e.contains("mlp."), e)
    }

    func testWrongLayerScheduleIsAnError() throws {
        // Swapping a GDN layer for attention must fail on the tensors, not run with garbage.
        let dir = try copy("qwen35-dense-tiny") {
            $0 = $0.replacingOccurrences(of: "\"linear_attention\",\n      \"linear_attention\",\n      \"linear_attention\"",
                                         with: "\"full_attention\",\n      \"linear_attention\",\n      \"linear_attention\"")
        }
        let e = try XCTUnwrap(error(loading: dir))
        XCTAssertTrue(e.contains("layers.0."), e)
    }
}
