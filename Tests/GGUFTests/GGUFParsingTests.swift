import Foundation
import XCTest
import TensorCore
@testable import GGUF

/// GGUF parsing: a round trip through the project's writer with every metadata type, and each malformed-file
/// case failing at open with a message that names the file and the key or tensor.
final class GGUFParsingTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private func write(_ data: Data, _ name: String = "m.gguf") throws -> String {
        let url = tmp.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    private func assertOpenFails(_ data: Data, mentioning parts: [String], line: UInt = #line) throws {
        let path = try write(data)
        XCTAssertThrowsError(try GGUFFile(path: path), line: line) { error in
            let text = "\(error)"
            for part in ["m.gguf"] + parts where !text.contains(part) {
                XCTFail("error \"\(text)\" does not mention \"\(part)\"", line: line)
            }
        }
    }

    private let everyType: [(String, GGUFValue)] = [
        ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-300)),
        ("u32", .uint32(4_000_000_000)), ("i32", .int32(-70000)), ("f32", .float32(1.5)), ("b", .bool(true)),
        ("s", .string("héllo ✓")), ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))), ("f64", .float64(-2.25)),
        ("arr", .array(.int32, [.int32(1), .int32(-2)])),
        ("strs", .array(.string, [.string("a"), .string(""), .string("Ġx")])),
        ("nested", .array(.array, [.array(.uint8, [.uint8(1)]), .array(.uint8, [])])),
    ]

    private func sample(alignment: Int = 32) -> GGUFWriter {
        var w = GGUFWriter()
        w.alignment = alignment
        for (k, v) in everyType { w.add(k, v) }
        w.addTensor("a", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        w.addTensor("b", format: .q8_0, shape: [1, 32], bytes: Data([0x00, 0x3C] + (0..<32).map { UInt8($0) }))
        return w
    }

    func testRoundTripEveryMetadataTypeAndTensors() throws {
        for alignment in [32, 64] {
            let f = try GGUFFile(path: try write(sample(alignment: alignment).data()))
            XCTAssertEqual(f.version, 3)
            XCTAssertEqual(f.alignment, alignment)
            for (k, v) in everyType { XCTAssertEqual(f.metadata[k], v, k) }
            XCTAssertEqual(try f.int("u64"), 1 << 40)
            XCTAssertEqual(try f.double("f32"), 1.5)
            XCTAssertEqual(f.dataStart % alignment, 0)
            let a = try XCTUnwrap(f.tensor("a"))
            XCTAssertEqual(a.shape, [2, 3])
            XCTAssertEqual(f.tensors[0].dims, [3, 2])
            XCTAssertEqual(a.toFloats(), [1, 2, 3, 4, 5, 6])
            let b = try XCTUnwrap(f.tensor("b"))
            XCTAssertEqual(b.format, .q8_0)
            XCTAssertEqual(b.toFloats(), (0..<32).map { Float($0) })   // d = 1.0 (0x3C00)
            XCTAssertEqual(Int(bitPattern: b.data) % alignment, 0)
        }
    }

    func testBadMagicAndVersion() throws {
        var d = sample().data()
        d[0] = UInt8(ascii: "X")
        try assertOpenFails(d, mentioning: ["not a GGUF file", "magic"])
        d = sample().data()
        d[4] = 9
        try assertOpenFails(d, mentioning: ["version 9"])
        try assertOpenFails(Data([0x47, 0x47]), mentioning: ["not a GGUF file"])
        try assertOpenFails(Data(), mentioning: ["not a GGUF file"])
    }

    func testTruncatedAnywhereInTheHeaderFails() throws {
        let d = sample().data()
        let f = try GGUFFile(path: try write(d))
        // Every cut inside the header or data must fail (never crash), naming what was being read.
        for cut in stride(from: 5, to: f.dataStart + 24, by: 7) {
            let path = try write(d.prefix(cut))
            XCTAssertThrowsError(try GGUFFile(path: path), "cut at \(cut)")
        }
    }

    func testTensorDataPastTheEnd() throws {
        let d = sample().data()
        try assertOpenFails(d.dropLast(40), mentioning: ["tensor b", "past the end"])
    }

    func testStringLengthPastTheEnd() throws {
        var w = GGUFWriter()
        w.add("k", .string("abc"))
        var d = w.data()
        // The value's u64 length sits right after key "k" (8+1 bytes) and its type (4): offset 24+9+4.
        let lengthAt = 24 + 9 + 4
        d.replaceSubrange(lengthAt..<lengthAt + 8, with: withUnsafeBytes(of: UInt64(1 << 30).littleEndian) { Data($0) })
        try assertOpenFails(d, mentioning: ["truncated", "k"])
    }

    func testBadMetadataTypeCodes() throws {
        var w = GGUFWriter()
        w.add("k", .uint8(1))
        var d = w.data()
        d[24 + 9] = 13                                  // value type 13 does not exist
        try assertOpenFails(d, mentioning: ["metadata k", "unknown value type 13"])
        w = GGUFWriter()
        w.add("arr", .array(.uint8, [.uint8(1)]))
        d = w.data()
        d[24 + 11 + 4] = 99                             // array element type
        try assertOpenFails(d, mentioning: ["metadata arr", "unknown array element type 99"])
        w = GGUFWriter()
        w.add("flag", .bool(true))
        d = w.data()
        d[24 + 12 + 4] = 2
        try assertOpenFails(d, mentioning: ["metadata flag", "bool byte 2"])
    }

    func testInvalidUTF8AndDuplicates() throws {
        var w = GGUFWriter()
        w.add("s", .string("ab"))
        var d = w.data()
        d[24 + 8 + 1 + 4 + 8 + 1] = 0xFF                // the "b" of the value
        try assertOpenFails(d, mentioning: ["s", "UTF-8"])
        w = GGUFWriter()
        w.add("k", .uint8(1)); w.add("k", .uint8(2))
        try assertOpenFails(w.data(), mentioning: ["metadata k", "duplicate key"])
        w = GGUFWriter()
        w.addTensor("t", shape: [1], values: [1]); w.addTensor("t", shape: [1], values: [2])
        try assertOpenFails(w.data(), mentioning: ["tensor t", "duplicate tensor name"])
    }

    func testBadAlignmentMetadata() throws {
        var w = GGUFWriter()
        w.add("general.alignment", .uint32(24))
        try assertOpenFails(w.data(), mentioning: ["general.alignment", "power of two"])
        w = GGUFWriter()
        w.add("general.alignment", .string("32"))
        try assertOpenFails(w.data(), mentioning: ["general.alignment"])
    }

    /// Offsets of the single tensor info's fields in a file with no metadata and one tensor named "t".
    private func oneTensorFile(format: WeightFormat = .f32, shape: [Int] = [4], bytes: Int = 16) -> Data {
        var w = GGUFWriter()
        w.addTensor("t", format: format, shape: shape, bytes: Data(count: bytes))
        return w.data()
    }
    private let dimsAt = 24 + 9, typeAt = 24 + 9 + 4 + 8, offsetAt = 24 + 9 + 4 + 8 + 4

    func testMisalignedOffsetUnknownTypeAndBadDims() throws {
        var d = oneTensorFile()
        d[offsetAt] = 4
        try assertOpenFails(d, mentioning: ["tensor t", "offset 4", "alignment 32"])
        d = oneTensorFile()
        d[typeAt] = 16                                  // IQ2_XXS: a real ggml type this reader does not run
        try assertOpenFails(d, mentioning: ["tensor t", "unsupported tensor type 16"])
        d = oneTensorFile()
        d[typeAt] = 200
        try assertOpenFails(d, mentioning: ["tensor t", "unsupported tensor type 200"])
        d = oneTensorFile()
        d[dimsAt] = 5
        try assertOpenFails(d, mentioning: ["tensor t", "5 dimensions"])
        d = oneTensorFile()
        d[dimsAt + 4] = 40                              // innermost dim 40 of Q8_0 below
        d[typeAt] = UInt8(WeightFormat.q8_0.rawValue)
        try assertOpenFails(d, mentioning: ["tensor t", "not a multiple", "Q8_0"])
        d = oneTensorFile()
        d.replaceSubrange(dimsAt + 4..<dimsAt + 12, with: withUnsafeBytes(of: UInt64.max) { Data($0) })
        try assertOpenFails(d, mentioning: ["dims of t"])
    }

    func testOverlappingTensors() throws {
        var w = GGUFWriter()
        w.addTensor("a", shape: [8], values: Array(repeating: 1, count: 8))
        w.addTensor("b", shape: [8], values: Array(repeating: 2, count: 8))
        var d = w.data()
        // b's offset (32) → 0: both tensors claim the same bytes.
        let bOffsetAt = 24 + (8 + 1 + 4 + 8 + 4 + 8) + (8 + 1 + 4 + 8 + 4)
        XCTAssertEqual(d[bOffsetAt], 32)
        d[bOffsetAt] = 0
        try assertOpenFails(d, mentioning: ["tensor", "overlaps"])
    }

    func testMissingFile() {
        XCTAssertThrowsError(try GGUFFile(path: tmp.appendingPathComponent("none.gguf").path)) {
            XCTAssertTrue("\($0)".contains("no such file"))
        }
    }
}
