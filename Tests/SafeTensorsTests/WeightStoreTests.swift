import Foundation
import XCTest
import TensorCore
@testable import SafeTensors

/// The strict store: values, shape/dtype checks, consumption accounting, progress, and error paths for
/// directories and single files.
final class WeightStoreTests: TempDirTestCase {
    private var mixed: [TestTensor] {
        [
            .f32("model.norm.weight", [1, -2, 3.5], shape: [3]),
            .bf16("model.embed.weight", [0.5, 1, -1.5, 2, 4, -8], shape: [2, 3]),
            .f16("model.f16", [0.25, -0.75], shape: [2]),
            .i64("ids", [7, -3, 1 << 40], shape: [1, 3]),
        ]
    }

    func testMixedDTypesRoundTrip() throws {
        try write(SafeTensorsTestWriter.file(mixed), "model.safetensors")
        let store = try WeightStore(directory: tmp)
        XCTAssertEqual(store.entries.count, 4)
        XCTAssertEqual(store.totalBytes, 12 + 12 + 4 + 24)
        XCTAssertEqual(store.files.map(\.name), ["model.safetensors"])
        XCTAssertEqual(store.files[0].tensorCount, 4)
        XCTAssertEqual(store.files[0].metadata, ["format": "pt"])
        XCTAssertEqual(store.mappedBytes, try Data(contentsOf: tmp.appendingPathComponent("model.safetensors")).count)

        XCTAssertEqual(try store.take("model.norm.weight", shape: [3]).toFloats(), [1, -2, 3.5])
        let e = try store.take("model.embed.weight", shape: [2, 3], dtypes: [.bf16, .f32])
        XCTAssertEqual(e.dtype, .bf16)
        XCTAssertEqual(e.toFloats(), [0.5, 1, -1.5, 2, 4, -8])
        XCTAssertEqual(try store.take("model.f16", shape: [2], dtypes: [.f16]).toFloats(), [0.25, -0.75])
        let ids = try store.take("ids", shape: [1, 3], dtypes: [.i64])
        XCTAssertEqual((0..<3).map { ids.data.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }, [7, -3, 1 << 40])
        XCTAssertNoThrow(try store.finish())
    }

    func testWrongShapeDTypeAndMissingTensorNameTensorAndFile() throws {
        let url = try write(SafeTensorsTestWriter.file(mixed), "model.safetensors")
        let store = try WeightStore(directory: tmp)
        assertThrows(try store.take("model.embed.weight", shape: [3, 2]),
                     mentioning: [url.path, "model.embed.weight", "[2, 3]", "expected [3, 2]"])
        assertThrows(try store.take("model.embed.weight", shape: [2, 3], dtypes: [.f32]),
                     mentioning: [url.path, "model.embed.weight", "dtype BF16", "expected F32"])
        assertThrows(try store.take("model.nope", shape: [1]), mentioning: [url.path, "missing tensor model.nope"])
        // A failed take does not count as consumed.
        XCTAssertTrue(store.unconsumed.contains("model.embed.weight"))
    }

    func testUnconsumedTensorsAreAnErrorUnlessSkipped() throws {
        let url = try write(SafeTensorsTestWriter.file(mixed), "model.safetensors")
        let store = try WeightStore(directory: tmp)
        _ = try store.take("model.norm.weight", shape: [3])
        assertThrows(try store.finish(), mentioning: [url.path, "unexpected tensor ids", "3 neither loaded nor skipped"])
        XCTAssertEqual(store.skip { $0.hasPrefix("model.") && $0 != "model.norm.weight" }, 2)
        assertThrows(try store.finish(), mentioning: ["unexpected tensor ids", "1 neither"])
        XCTAssertEqual(store.skip { $0 == "ids" }, 1)
        XCTAssertEqual(store.unconsumed, [])
        XCTAssertNoThrow(try store.finish())
    }

    func testTakingTwiceIsAllowed() throws {
        try write(SafeTensorsTestWriter.file(mixed), "model.safetensors")
        let store = try WeightStore(directory: tmp)
        let x = try store.take("model.embed.weight", shape: [2, 3])
        let y = try store.take("model.embed.weight", shape: [2, 3])
        XCTAssertEqual(x.data, y.data, "both views point into the same mapping")
    }

    func testMisalignedTensorGetsAnAlignedCopy() throws {
        // A 2-byte tensor first and a header length chosen so that the f32 tensor after it is misaligned.
        let tensors: [TestTensor] = [.bf16("pad", [1], shape: [1]), .f32("w", [1.5, -2.5, 3], shape: [3])]
        var header = SafeTensorsTestWriter.header(tensors, align: 1)
        while (8 + header.utf8.count + 2) % 4 == 0 { header += " " }
        try write(SafeTensorsTestWriter.file(header: header, data: tensors.flatMap(\.data)), "model.safetensors")
        let store = try WeightStore(directory: tmp)
        XCTAssertNotEqual(try XCTUnwrap(store.entries["w"]).offset % 4, 0, "the test needs a misaligned tensor")
        let w = try store.take("w", shape: [3])
        XCTAssertEqual(Int(bitPattern: w.data) % 4, 0)
        XCTAssertEqual(w.toFloats(), [1.5, -2.5, 3])
    }

    func testProgressIsReported() throws {
        try write(SafeTensorsTestWriter.file(mixed), "model.safetensors")
        final class Log: @unchecked Sendable { var items: [WeightStore.Progress] = [] }
        let log = Log()
        let store = try WeightStore(directory: tmp) { log.items.append($0) }
        XCTAssertEqual(log.items.count, 1)
        XCTAssertEqual(log.items[0].stage, .opening)
        XCTAssertEqual(log.items[0].completedBytes, store.mappedBytes)
        _ = try store.take("model.embed.weight", shape: [2, 3])
        store.skip { _ in true }
        XCTAssertEqual(log.items.map(\.stage), [.opening, .loading, .loading])
        XCTAssertEqual(log.items[1].completedBytes, 12)
        XCTAssertEqual(log.items[1].completedTensors, 1)
        XCTAssertEqual(log.items[2].completedBytes, store.totalBytes)
        XCTAssertEqual(log.items[2].fractionCompleted, 1)
    }

    func testMissingDirectoryFileAndCheckpoint() throws {
        let missing = tmp.appendingPathComponent("nope")
        assertThrows(try WeightStore(directory: missing), mentioning: [missing.path, "no such model directory"])
        assertThrows(try WeightStore(directory: tmp), mentioning: [tmp.path, "no model.safetensors or model.safetensors.index.json"])
        let file = tmp.appendingPathComponent("ref.safetensors")
        assertThrows(try WeightStore(file: file), mentioning: [file.path, "no such file"])
        assertThrows(try WeightStore(file: tmp), mentioning: [tmp.path, "directory"])
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("model.safetensors"), withIntermediateDirectories: false)
        assertThrows(try WeightStore(directory: tmp), mentioning: ["model.safetensors", "not a regular file"])
    }

    func testSingleFileInit() throws {
        let url = try write(SafeTensorsTestWriter.file(mixed), "activations.safetensors")
        let store = try WeightStore(file: url)
        XCTAssertEqual(store.files.map(\.name), ["activations.safetensors"])
        XCTAssertEqual(store.source, url.path)
        XCTAssertEqual(store.entries["ids"]?.file, "activations.safetensors")
    }

    func testSingleFileWinsOverIndexLikeTransformers() throws {
        try write(SafeTensorsTestWriter.file(mixed), "model.safetensors")
        try write(Data("not even json".utf8), "model.safetensors.index.json")
        XCTAssertEqual(try WeightStore(directory: tmp).entries.count, 4)
    }

    // MARK: - Fixtures

    private func fixtureModel(_ name: String) -> URL {
        fixturesDirectory().appendingPathComponent("models").appendingPathComponent(name)
    }

    private func dtypeCounts(_ store: WeightStore) -> [DType: Int] {
        store.entries.values.reduce(into: [:]) { $0[$1.dtype, default: 0] += 1 }
    }

    func testFixtureModelsLoad() throws {
        let dense = try WeightStore(directory: fixtureModel("qwen35-dense-tiny"))
        XCTAssertEqual(dense.entries.count, 92)
        XCTAssertEqual(dtypeCounts(dense), [.f32: 92])
        XCTAssertEqual(dense.totalBytes, 1_554_272)
        XCTAssertEqual(dense.entries["model.language_model.embed_tokens.weight"]?.shape, [512, 64])

        let moe = try WeightStore(directory: fixtureModel("qwen35-moe-tiny"))
        XCTAssertEqual(moe.entries.count, 134)
        XCTAssertEqual(dtypeCounts(moe), [.f32: 134])
        XCTAssertEqual(moe.entries["model.language_model.layers.0.mlp.experts.gate_up_proj"]?.shape, [8, 64, 64])

        let bf16 = try WeightStore(directory: fixtureModel("qwen35-moe-tiny-bf16"))
        XCTAssertEqual(bf16.entries.count, 134)
        XCTAssertEqual(dtypeCounts(bf16), [.bf16: 128, .f32: 6])
        let f32Names = bf16.entries.values.filter { $0.dtype == .f32 }.map(\.name).sorted()
        XCTAssertEqual(f32Names, (0..<3).flatMap { i in
            ["model.language_model.layers.\(i).linear_attn.A_log", "model.language_model.layers.\(i).linear_attn.norm.weight"]
        })
        XCTAssertEqual(Set(bf16.entries.keys), Set(moe.entries.keys))
        // The bf16 file is the f32 one rounded: same shapes, and values equal after rounding.
        let a = try moe.take("model.language_model.layers.0.mlp.gate.weight", shape: [8, 64]).toFloats()
        let b = try bf16.take("model.language_model.layers.0.mlp.gate.weight", shape: [8, 64], dtypes: [.bf16]).toFloats()
        XCTAssertEqual(a.map { bf16ToFloat(floatToBF16($0)) }, b)
    }

    func testReferenceFileWithInt64Tensors() throws {
        let url = fixturesDirectory().appendingPathComponent("references/qwen35-dense-tiny.safetensors")
        let store = try WeightStore(file: url)
        XCTAssertEqual(dtypeCounts(store), [.f32: 77, .i64: 8])
    }
}
