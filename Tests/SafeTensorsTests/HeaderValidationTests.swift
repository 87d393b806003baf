import Foundation
import XCTest
import TensorCore
@testable import SafeTensors

/// Every malformed-file case named in issue 2: each must fail at open with a one-line message naming the file
/// (and the tensor when there is one).
final class HeaderValidationTests: TempDirTestCase {
    private let a = TestTensor.f32("a", [1, 2, 3, 4], shape: [2, 2])

    /// A file with header `json` (spaces-padded) and `dataBytes` zero bytes of data.
    private func open(header json: String, dataBytes: Int = 16, name: String = "model.safetensors") throws -> WeightStore {
        try write(SafeTensorsTestWriter.file(header: json, data: [UInt8](repeating: 0, count: dataBytes)), name)
        return try WeightStore(directory: tmp)
    }

    private func assertOpenFails(header json: String, dataBytes: Int = 16, mentioning parts: [String],
                                 line: UInt = #line) {
        assertThrows(try open(header: json, dataBytes: dataBytes), mentioning: ["model.safetensors"] + parts, line: line)
    }

    func testEmptyAndShortFiles() throws {
        try write(Data(), "model.safetensors")
        assertThrows(try WeightStore(directory: tmp), mentioning: ["model.safetensors", "0 bytes", "shorter than"])
        try write(Data([1, 2, 3, 4, 5]), "model.safetensors")
        assertThrows(try WeightStore(directory: tmp), mentioning: ["model.safetensors", "5 bytes", "truncated"])
    }

    func testHeaderLengthPastEndOfFile() throws {
        let h = SafeTensorsTestWriter.header([a])
        try write(SafeTensorsTestWriter.file(header: h, data: a.data, declaredHeaderLength: 1 << 20), "model.safetensors")
        assertThrows(try WeightStore(directory: tmp), mentioning: ["model.safetensors", "header length 1048576", "past the end"])
        try write(SafeTensorsTestWriter.file(header: h, data: a.data, declaredHeaderLength: UInt64.max), "model.safetensors")
        assertThrows(try WeightStore(directory: tmp), mentioning: ["model.safetensors", "past the end"])
    }

    func testTruncatedDataSection() throws {
        var bytes = SafeTensorsTestWriter.file([a])
        bytes.removeLast(3)
        try write(bytes, "model.safetensors")
        assertThrows(try WeightStore(directory: tmp), mentioning: ["model.safetensors", "tensor a", "past the end of the data"])
    }

    func testHeaderNotJSON() {
        assertOpenFails(header: "{\"a\": {\"dtype\": \"F32\",", mentioning: ["invalid safetensors header", "JSON error at line 1"])
        assertOpenFails(header: "not json at all", mentioning: ["JSON error at line 1, column 1"])
        assertOpenFails(header: "{} trailing", mentioning: ["after the top-level value"])
        assertOpenFails(header: "[1, 2]", mentioning: ["expected a JSON object", "an array"])
        assertOpenFails(header: "{\"a\": \"\u{1}\"}", mentioning: ["control character"])
    }

    func testDuplicateTensorKeyInHeader() {
        let entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"
        assertOpenFails(header: "{\"w\":\(entry),\"w\":\(entry)}", mentioning: ["duplicate key \"w\""])
    }

    func testInvalidUTF8InHeader() throws {
        var bytes = Data(le(UInt64(8)))
        bytes.append(contentsOf: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])  // {"\xff\xfe":1}
        try write(bytes, "model.safetensors")
        assertThrows(try WeightStore(directory: tmp), mentioning: ["model.safetensors", "UTF-8"])
    }

    func testFieldTypes() {
        func entry(_ body: String) -> String { "{\"w\":{\(body)}}" }
        assertOpenFails(header: "{\"w\":[1]}", mentioning: ["tensor w", "must be an object"])
        assertOpenFails(header: entry("\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,4]"),
                        mentioning: ["tensor w", "dtype must be a string"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]"),
                        mentioning: ["tensor w", "shape must be an array"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]"),
                        mentioning: ["tensor w", "shape entries must be integers"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"shape\":[true],\"data_offsets\":[0,4]"),
                        mentioning: ["tensor w", "shape entries must be integers", "a boolean"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]"),
                        mentioning: ["tensor w", "negative"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]"),
                        mentioning: ["tensor w", "data_offsets must have 2 entries"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}"),
                        mentioning: ["tensor w", "data_offsets must be an array"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"shape\":[1]"),
                        mentioning: ["tensor w", "missing field data_offsets"])
        assertOpenFails(header: entry("\"shape\":[1],\"data_offsets\":[0,4]"), mentioning: ["tensor w", "missing field dtype"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"data_offsets\":[0,4]"), mentioning: ["tensor w", "missing field shape"])
        assertOpenFails(header: entry("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1"),
                        mentioning: ["tensor w", "unknown field \"x\""])
        assertOpenFails(header: "{\"__metadata__\":{\"format\":1}}", mentioning: ["__metadata__.format must be a string"])
        assertOpenFails(header: "{\"__metadata__\":[]}", mentioning: ["__metadata__ must be an object"])
    }

    func testUnknownDType() {
        assertOpenFails(header: "{\"w\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        mentioning: ["tensor w", "unsupported dtype \"I32\""])
        assertOpenFails(header: "{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        mentioning: ["tensor w", "unsupported dtype \"f32\""])
    }

    func testOffsetsOutOfRangeOrWrongSize() {
        func h(_ dtype: String, _ shape: String, _ b: Any, _ e: Any) -> String {
            "{\"w\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(b),\(e)]}}"
        }
        assertOpenFails(header: h("F32", "4", 8, 24), mentioning: ["tensor w", "[8, 24]", "past the end of the data section (16 bytes"])
        assertOpenFails(header: h("F32", "1", 8, 4), mentioning: ["tensor w", "reversed"])
        assertOpenFails(header: h("F32", "3", 0, 8), mentioning: ["tensor w", "span 8 bytes", "needs 12"])
        assertOpenFails(header: h("BF16", "2,2", 0, 16), mentioning: ["tensor w", "span 16 bytes", "BF16 needs 8"])
        assertOpenFails(header: h("F32", "4611686018427387904,4", 0, 16), mentioning: ["tensor w", "too large"])
        assertOpenFails(header: h("F32", "1", 0, "99999999999999999999"), mentioning: ["out of range"])
    }

    func testOverlappingOffsets() {
        let json = """
            {"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},\
            "y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}
            """
        assertOpenFails(header: json, mentioning: ["tensor y", "overlap tensor x"])
    }

    func testValidEdgeCasesAreAccepted() throws {
        // Scalars (shape []), empty tensors and gaps between tensors are legal.
        let json = """
            {"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},\
            "e":{"dtype":"BF16","shape":[0,3],"data_offsets":[4,4]},\
            "g":{"dtype":"F16","shape":[2],"data_offsets":[8,12]}}
            """
        let store = try open(header: json, dataBytes: 16)
        XCTAssertEqual(store.entries["s"]?.shape, [])
        XCTAssertEqual(try store.take("s", shape: []).elementCount, 1)
        XCTAssertEqual(try store.take("e", shape: [0, 3]).byteCount, 0)
        XCTAssertEqual(try store.take("g", shape: [2]).byteCount, 4)
        XCTAssertNoThrow(try store.finish())
        XCTAssertEqual(store.files.first?.metadata, [:])
    }
}
