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
            let (restored, info) = try SequenceStateFile.read(from: url, tag: "dense \(type)", into: fresh)
            XCTAssertEqual(info, "seconds=1.5")
            XCTAssertEqual(restored, whole, "\(type): the state read back")
            var resumed = restored
            let a = model.forward(Array(ids[128...]), state: &whole, allLogits: true)    // [22, vocab]
            let b = model.forward(Array(ids[128...]), state: &resumed, allLogits: true)  // [22, vocab]
            XCTAssertEqual(a, b, "\(type): logits after resuming")
            XCTAssertEqual(resumed.position, 150)
        }
    }

    func testWrongTagModelOrTruncationIsNamed() throws {
        let dense = try Qwen35ReferenceTests.fixture("qwen35-dense-tiny").model
        var state = dense.makeState(kvType: .bf16)
        _ = dense.forward([1, 2, 3, 4, 5], state: &state, allLogits: false)
        let url = tempFile("bad")
        try SequenceStateFile.write(state, tag: "A", info: "", to: url)
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "B", into: dense.makeState(kvType: .bf16))) {
            XCTAssertEqual($0 as? SequenceStateFileError, .tagMismatch(url.path, found: "A", expected: "B"))
        }
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: dense.makeState(kvType: .f32))) {
            XCTAssertTrue("\($0)".contains("bf16 KV in the file"), "\($0)")
        }
        let fewer = SequenceState(layers: Array(dense.makeState(kvType: .bf16).layers.dropLast()))
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: fewer)) {
            XCTAssertTrue("\($0)".contains("layers in the file, the model has"), "\($0)")
        }
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 100).write(to: url)
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: dense.makeState(kvType: .bf16))) {
            XCTAssertEqual($0 as? SequenceStateFileError, .truncated(url.path))
        }
        try Data("not a state".utf8).write(to: url)
        XCTAssertThrowsError(try SequenceStateFile.read(from: url, tag: "A", into: dense.makeState(kvType: .bf16))) {
            XCTAssertEqual($0 as? SequenceStateFileError, .notAStateFile(url.path))
        }
    }
}
