import XCTest
import Foundation
import TensorCore
@testable import LanguageModels

/// KV caches in every storage type: what they hold, what they cost, and that the memory plan `inspect` computes
/// from the config alone is what a real state takes.
final class KVStorageTests: XCTestCase {
    func rows(_ n: Int, _ row: Int, seed: Int) -> [Float] { (0..<(n * row)).map { Float(($0 * 37 + seed) % 101) / 50 - 1 } }

    func widened(_ x: [Float], _ type: KVType) -> [Float] {
        var bytes = [UInt8](repeating: 0, count: type.bytes(elements: x.count))
        var out = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in bytes.withUnsafeMutableBytes { type.encode(xp.baseAddress!, into: $0.baseAddress!, count: x.count) } }
        bytes.withUnsafeBytes { b in out.withUnsafeMutableBufferPointer { type.decode(b.baseAddress!, into: $0.baseAddress!, count: x.count) } }
        return out
    }

    /// Appends across pages, a snapshot sharing a partly filled page, then both sides writing on: each reads back
    /// its own rows, widened from the type.
    func testTypedCacheAppendSnapshotAndSlice() {
        for type in KVType.allCases {
            let hkv = 2, d = 32, row = hkv * d
            let pool = KVPagePool(pageTokens: 64, kvHeads: hkv, headDim: d, type: type)
            XCTAssertEqual(pool.bytesPerToken, 2 * hkv * type.bytes(elements: d))
            let k = rows(150, row, seed: 1), v = rows(150, row, seed: 2)
            var a = KVCache(pool: pool)
            k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                a.append(keys: kp.baseAddress!, values: vp.baseAddress!, tokens: 100)
            } }
            let snapshot = a
            var b = a
            k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                a.append(keys: kp.baseAddress! + 100 * row, values: vp.baseAddress! + 100 * row, tokens: 50)
                b.append(keys: vp.baseAddress!, values: kp.baseAddress!, tokens: 1)   // another row on the shared page
            } }
            XCTAssertEqual(a.keys, widened(k, type), "\(type): keys")
            XCTAssertEqual(a.values, widened(v, type), "\(type): values")
            XCTAssertEqual(snapshot.keys, widened(Array(k[0..<(100 * row)]), type), "\(type): the snapshot is untouched")
            XCTAssertEqual(b.keys, widened(Array(k[0..<(100 * row)]) + Array(v[0..<row]), type), "\(type): the fork")
            XCTAssertEqual(a.byteCount, 3 * pool.pageBytes)
            let head = a.slice(0..<64).joined(a.slice(64..<128))
            XCTAssertEqual(head.keys, widened(Array(k[0..<(128 * row)]), type), "\(type): slices joined")
            if type != .f32 { XCTAssertNotEqual(a.keys, k, "\(type) rounds (the test would be vacuous otherwise)") }
        }
    }

    func testMemoryPlanFromConfigIsWhatAStateTakes() throws {
        for name in Qwen35ReferenceTests.modelNames {
            let model = try Qwen35ReferenceTests.fixture(name).model
            for type in KVType.allCases {
                let measured = MemoryPlan(model.makeState(kvType: type))
                XCTAssertEqual(model.config.memoryPlan(kvType: type), measured, "\(name) \(type)")
                XCTAssertGreaterThan(measured.kvBytesPerToken, 0)
            }
            let f32 = model.config.memoryPlan(kvType: .f32), q8 = model.config.memoryPlan(kvType: .q8_0)
            XCTAssertEqual(q8.kvBytesPerToken * 128, f32.kvBytesPerToken * 34, "\(name): q8_0 is 34 bytes per 32 f32 values")
            XCTAssertEqual(model.config.memoryPlan(kvType: .bf16).kvBytesPerToken * 2, f32.kvBytesPerToken)
            XCTAssertEqual(q8.recurrentBytes, f32.recurrentBytes, "the recurrent state stays f32")
            let budget = f32.recurrentBytes + 10 * f32.kvBytesPerToken + 1
            XCTAssertEqual(f32.maxTokens(budget: budget), 10)
            XCTAssertEqual(f32.maxTokens(budget: f32.recurrentBytes), 0)
        }
    }
}
