import Foundation
import XCTest
import JSON

/// `JSONValue` inside `Codable` types, through Foundation's coders.
final class JSONCodableTests: XCTestCase {
    private struct Call: Codable, Equatable {
        var name: String
        var arguments: JSONValue
    }

    func testRoundTripThroughFoundationCoders() throws {
        let args = try JSONValue.parse(#"{"n": 12345678901234567890, "m": -7, "x": 0.5, "s": "é", "l": [true, null]}"#)
        let call = Call(name: "f", arguments: args)
        let encoder = JSONEncoder()
        let data = try encoder.encode(call)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("12345678901234567890"), text)
        XCTAssertFalse(text.contains("e+19"), text)
        // Back through JSONValue's own parser: every member exact (JSONEncoder does not keep key order).
        let reparsed = try XCTUnwrap(JSONValue.parse(data)["arguments"]?.objectValue)
        XCTAssertEqual(reparsed.count, 5)
        for (key, value) in try XCTUnwrap(args.objectValue) { XCTAssertEqual(reparsed.first { $0.0 == key }?.1, value, key) }
        // Through JSONDecoder: values equal, key order up to the decoder; the big integer becomes the nearest
        // representable number (JSONDecoder offers no exact integer beyond 64 bits).
        let decoded = try JSONDecoder().decode(Call.self, from: Data(#"{"name": "f", "arguments": {"m": -7, "x": 0.5, "l": [true, null]}}"#.utf8))
        XCTAssertEqual(decoded.arguments["m"], .int(-7))
        XCTAssertEqual(decoded.arguments["x"], .double(0.5))
        XCTAssertEqual(decoded.arguments["l"], .array([.bool(true), .null]))
    }
}
