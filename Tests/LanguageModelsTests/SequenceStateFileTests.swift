import XCTest
import Foundation
import TensorCore
@testable import LanguageModels

/// A sequence state saved to disk and read back is the same state, and a forward resumed from it gives the
/// logits of the uninterrupted run bit for bit; a file of another model, prompt or a cut-off file is an error
/// that says which.
final class SequenceStateFileTests: XCTestCase {
    func tempFile(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qk-state-\(getpid())-\(name)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testResumedPrefillEqualsUninterrupted() throws {
        let model = try Qwen35ReferenceTests.fixture("qwen35-dense-tiny").model
        let ids = (0..<150).map { ($0 * 7919 + 13) % model.config.vocabSize }
        for type in KVType.allCases {
            var whole = model.makeState(kvType: type)
            _ = model.forward(Array(ids[0..<128]), state: &whole, allLogits: false)
            let url = tempFile("\(type)")
            try SequenceStateFile.write(whole, tag: "dense \(type)", info: "seconds=1.5", to: url)
            let fresh = model.makeState(kvType: type)
            let (restored, info) = try SequenceStateFile.read(from: url, tag: "dense \(type)", into: fresh, maxPosition: 1 << 18)
            XCTAssertEqual(info, "seconds=1.5")
            XCTAssertEqual(restored, whole, "\(type): the state read back")
            var resumed = restored
            let a = model.forward(Array(ids[128...]), state: &whole, allLogits: true)    // [22, vocab]
            let b = model.forward(Array(ids[128...]), state: &resumed, allLogits: true)  // [22, vocab]
            XCTAssertEqual(a, b, "\(type): logits after resuming")
            XCTAssertEqual(resumed.position, 150)
        }
    }

    /// The file holds rows, not pages: a state written from 64-token pages reads back into 16-token pages.
    func testPageSizeDoesNotMatter() throws {
        let hkv = 2, d = 32, rows = 150
        let k = (0..<(rows * hkv * d)).map { Float($0 % 97) / 50 - 1 }, v = k.reversed().map { $0 }   // [rows, Hkv, D]
        var big = KVCache(pool: KVPagePool(pageTokens: 64, kvHeads: hkv, headDim: d, type: .q8_0))
        big.append(keys: k, values: v, tokens: rows)
        let url = tempFile("pages")
        try SequenceStateFile.write(SequenceState(layers: [.attention(big)], position: rows), tag: "t", info: "", to: url)
        let small = SequenceState(layers: [.attention(KVCache(pool: KVPagePool(pageTokens: 16, kvHeads: hkv, headDim: d, type: .q8_0)))])
        let (back, _) = try SequenceStateFile.read(from: url, tag: "t", into: small, maxPosition: 1000)
        guard case .attention(let kv) = back.layers[0] else { return XCTFail("not an attention layer") }
        XCTAssertEqual(kv.pageCount, 10)
        XCTAssertEqual(kv.keys, big.keys)
        XCTAssertEqual(kv.values, big.values)
    }

    func testWrongTagModelOrTruncationIsNamed() throws {
        let dense = try Qwen35ReferenceTests.fixture("qwen35-dense-tiny").model
        var state = dense.makeState(kvType: .bf16)
        _ = dense.forward([1, 2, 3, 4, 5], state: &state, allLogits: false)
        let url = tempFile("bad")
        try SequenceStateFile.write(state, tag: "A", info: "", to: url)
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "B", into: dense.makeState(kvType: .bf16), maxPosition: 1 << 18)) {
            XCTAssertEqual($0 as? SequenceStateFileError, .tagMismatch(url.path, found: "A", expected: "B"))
        }
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: dense.makeState(kvType: .f32), maxPosition: 1 << 18)) {
            XCTAssertTrue("\($0)".contains("bf16 KV in the file"), "\($0)")
        }
        let fewer = SequenceState(layers: Array(dense.makeState(kvType: .bf16).layers.dropLast()))
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: fewer, maxPosition: 1 << 18)) {
            XCTAssertTrue("\($0)".contains("layers in the file, the model has"), "\($0)")
        }
        let bytes = try Data(contentsOf: url)
        // The position (after magic, tag "A" and empty info: 8 + 5 + 4 bytes) patched out of range, or to one the
        // KV rows do not match; the end marker damaged.
        let positionAt = 17
        for (value, expected) in [(Int64(-1), "outside the context"), (Int64(1) << 40, "outside the context"), (Int64(4), "holds 5 KV rows at position 4")] {
            var patched = bytes
            withUnsafeBytes(of: value.littleEndian) { patched.replaceSubrange(positionAt..<(positionAt + 8), with: $0) }
            try patched.write(to: url)
            XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: dense.makeState(kvType: .bf16), maxPosition: 1 << 18)) {
                XCTAssertTrue("\($0)".contains(expected), "\(value): \($0)")
            }
        }
        var damaged = bytes
        damaged[damaged.count - 1] ^= 0xFF
        try damaged.write(to: url)
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: dense.makeState(kvType: .bf16), maxPosition: 1 << 18)) {
            XCTAssertTrue("\($0)".contains("no end marker"), "\($0)")
        }
        try bytes.prefix(bytes.count - 100).write(to: url)
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: dense.makeState(kvType: .bf16), maxPosition: 1 << 18)) {
            XCTAssertEqual($0 as? SequenceStateFileError, .truncated(url.path))
        }
        try Data("not a state".utf8).write(to: url)
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: dense.makeState(kvType: .bf16), maxPosition: 1 << 18)) {
            XCTAssertEqual($0 as? SequenceStateFileError, .notAStateFile(url.path))
        }
    }
}
