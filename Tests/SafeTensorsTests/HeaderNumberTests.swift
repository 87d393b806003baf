import XCTest
import JSON
@testable import SafeTensors

/// The header rules SafeTensors adds on top of the shared JSON reader: shapes and offsets are exact integers.
final class HeaderNumberTests: TempDirTestCase {
    private func openHeader(_ json: String) throws -> WeightStore {
        try write(SafeTensorsTestWriter.file(header: json, data: [UInt8](repeating: 0, count: 16)), "model.safetensors")
        return try WeightStore(directory: tmp)
    }

    func testFloatsAndBigIntegersAreRefusedWhereIntegersAreRequired() {
        func h(_ shape: String, _ offsets: String) -> String {
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offsets)]}}"
        }
        assertThrows(try openHeader(h("2.0", "0,8")), mentioning: ["tensor w", "shape entries must be integers", "a non-integer number"])
        assertThrows(try openHeader(h("2", "0,8e0")), mentioning: ["tensor w", "data_offsets entries must be integers"])
        assertThrows(try openHeader(h("true", "0,4")), mentioning: ["tensor w", "found a boolean"])
        assertThrows(try openHeader(h("1", "0,18446744073709551616")), mentioning: ["data_offsets entry 18446744073709551616 is out of range"])
        assertThrows(try openHeader(h("-1", "0,4")), mentioning: ["shape entry -1 is negative"])
    }

    func testDuplicateKeyErrorNamesKeyAndPosition() {
        assertThrows(try openHeader(#"{"k": 1, "k": 2}"#), mentioning: ["JSON error at line 1, column 10", #"duplicate key "k""#])
    }
}
