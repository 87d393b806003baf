import Foundation
import XCTest
import TensorCore
@testable import SafeTensors

/// Sharded checkpoints: `model.safetensors.index.json` + shards of any name, and every way they can disagree.
final class ShardedCheckpointTests: TempDirTestCase {
    private let shard1 = "model.safetensors-00001-of-00002.safetensors"
    private let shard2 = "model.safetensors-00002-of-00002.safetensors"
    private let t1: [TestTensor] = [.f32("a", [1, 2], shape: [2]), .bf16("b", [3, 4, 5, 6], shape: [2, 2])]
    private let t2: [TestTensor] = [.f32("c", [7], shape: [1])]

    private func writeShards(index: [(tensor: String, file: String)]? = nil, skipSecond: Bool = false) throws {
        try write(SafeTensorsTestWriter.file(t1), shard1)
        if !skipSecond { try write(SafeTensorsTestWriter.file(t2), shard2) }
        let map = index ?? [("a", shard1), ("b", shard1), ("c", shard2)]
        try write(SafeTensorsTestWriter.index(map, totalSize: 20), "model.safetensors.index.json")
    }

    private var indexPath: String { tmp.appendingPathComponent("model.safetensors.index.json").path }

    func testShardsLoadWhateverTheirNames() throws {
        try writeShards()
        let store = try WeightStore(directory: tmp)
        XCTAssertEqual(store.files.map(\.name), [shard1, shard2])
        XCTAssertEqual(store.entries["c"]?.file, shard2)
        XCTAssertEqual(store.source, indexPath)
        XCTAssertEqual(store.totalBytes, 8 + 8 + 4)
        XCTAssertEqual(try store.take("c", shape: [1]).toFloats(), [7])
        XCTAssertEqual(try store.take("b", shape: [2, 2]).toFloats(), [3, 4, 5, 6])
        assertThrows(try store.finish(), mentioning: [shard1, "unexpected tensor a"])
        assertThrows(try store.take("zz", shape: [1]), mentioning: [indexPath, "missing tensor zz"])
    }

    func testMissingShard() throws {
        try writeShards(skipSecond: true)
        assertThrows(try WeightStore(directory: tmp), mentioning: [indexPath, "shard \(shard2)", "holding e.g. c", "missing"])
    }

    func testIndexMapsTensorToAShardWithoutIt() throws {
        try writeShards(index: [("a", shard1), ("b", shard1), ("c", shard2), ("d", shard2)])
        assertThrows(try WeightStore(directory: tmp), mentioning: [indexPath, "tensor d", "mapped to \(shard2)", "does not contain it"])
    }

    func testShardHoldsTensorTheIndexPutsElsewhereOrOmits() throws {
        try writeShards(index: [("a", shard1), ("b", shard2), ("c", shard2)])
        assertThrows(try WeightStore(directory: tmp), mentioning: [indexPath, "shard \(shard1) holds tensor b", "maps it to \(shard2)"])
        try writeShards(index: [("a", shard1), ("c", shard2)])
        assertThrows(try WeightStore(directory: tmp), mentioning: [indexPath, "shard \(shard1) holds tensor b", "does not list it"])
    }

    func testSameTensorInTwoShards() throws {
        try write(SafeTensorsTestWriter.file(t1), shard1)
        try write(SafeTensorsTestWriter.file([t1[0], t2[0]]), shard2)
        try write(SafeTensorsTestWriter.index([("a", shard1), ("b", shard1), ("c", shard2)]), "model.safetensors.index.json")
        assertThrows(try WeightStore(directory: tmp), mentioning: ["tensor a", "more than one file", shard1, shard2])
    }

    func testMalformedIndex() throws {
        try write(SafeTensorsTestWriter.file(t1), shard1)
        func check(_ json: String, _ parts: [String], line: UInt = #line) throws {
            try write(Data(json.utf8), "model.safetensors.index.json")
            assertThrows(try WeightStore(directory: tmp), mentioning: [indexPath] + parts, line: line)
        }
        try check("{\"weight_map\": ", ["JSON error"])
        try check("[]", ["expected a JSON object"])
        try check("{\"metadata\": {}}", ["missing field weight_map"])
        try check("{\"weight_map\": {}}", ["weight_map is empty"])
        try check("{\"weight_map\": []}", ["weight_map must be an object"])
        try check("{\"weight_map\": {\"a\": 3}}", ["weight_map entry for tensor a must be a string"])
        try check("{\"weight_map\": {\"a\": \"../x.safetensors\"}}", ["tensor a", "not a file name"])
        try check("{\"metadata\": {\"total_size\": \"9\"}, \"weight_map\": {\"a\": \"x\"}}", ["metadata.total_size"])
    }

    func testBadShardReportsTheShardFile() throws {
        try writeShards()
        var bad = SafeTensorsTestWriter.file(t2)
        bad.removeLast(2)
        try write(bad, shard2)
        assertThrows(try WeightStore(directory: tmp), mentioning: [shard2, "tensor c", "past the end"])
    }

    #if os(Linux)
    /// No partial load: after a failed open nothing stays mapped (checked in /proc/self/maps).
    func testFailedOpenLeavesNothingMapped() throws {
        try writeShards()
        var bad = SafeTensorsTestWriter.file(t2)
        bad.removeLast(2)
        try write(bad, shard2)
        func mapped() throws -> Bool {
            // String(contentsOfFile:) stops after the first page of a procfs file; read to the end.
            let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/maps"))
            defer { try? handle.close() }
            return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).contains(tmp.lastPathComponent)
        }
        do {
            let store = try WeightStore(directory: tmp)
            XCTFail("expected an error, got \(store.entries.count) tensors")
        } catch {}
        XCTAssertFalse(try mapped(), "a shard stayed mapped after a failed open")

        // Control: a successful open does map the shards, and releasing the store unmaps them.
        try writeShards()
        var store: WeightStore? = try WeightStore(directory: tmp)
        XCTAssertTrue(try mapped())
        XCTAssertEqual(store?.entries.count, 3)
        store = nil
        XCTAssertFalse(try mapped())
    }
    #endif

    /// A fixture split into two shards (odd tensors / even tensors) loads to byte-identical tensors.
    func testShardedCopyOfFixtureMatchesOriginal() throws {
        let fixture = fixturesDirectory().appendingPathComponent("models/qwen35-moe-tiny-bf16")
        let original = try WeightStore(directory: fixture)
        let names = original.entries.keys.sorted()
        let parts = [names.enumerated().filter { $0.offset % 2 == 0 }.map(\.element),
                     names.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)]
        let shardNames = ["weights-a.safetensors", "weights-b.safetensors"]
        var map: [(tensor: String, file: String)] = []
        for (part, shard) in zip(parts, shardNames) {
            let tensors = try part.map { name -> TestTensor in
                let e = original.entries[name]!
                let t = try original.take(name, shape: e.shape)
                let bytes = Array(UnsafeRawBufferPointer(start: t.data, count: t.byteCount))
                return TestTensor(name: name, dtype: e.dtype.rawValue, shape: e.shape, data: bytes)
            }
            try write(SafeTensorsTestWriter.file(tensors), shard)
            map += part.map { ($0, shard) }
        }
        try write(SafeTensorsTestWriter.index(map, totalSize: original.totalBytes), "model.safetensors.index.json")

        let sharded = try WeightStore(directory: tmp)
        XCTAssertEqual(sharded.files.map(\.name), shardNames)
        XCTAssertEqual(sharded.files.map(\.tensorCount), [67, 67])
        XCTAssertEqual(sharded.totalBytes, original.totalBytes)
        for name in names {
            let e = original.entries[name]!
            let x = try original.take(name, shape: e.shape)
            let y = try sharded.take(name, shape: e.shape, dtypes: [e.dtype])
            XCTAssertEqual(y.dtype, x.dtype, name)
            XCTAssertEqual(memcmp(x.data, y.data, x.byteCount), 0, name)
        }
        XCTAssertNoThrow(try sharded.finish())
    }
}
