import XCTest
@testable import SafeTensors

/// The header JSON reader keeps integers apart from other numbers and decodes escapes exactly.
final class JSONReaderTests: XCTestCase {
    private func parse(_ s: String) throws -> JSONValue {
        try Array(s.utf8).withUnsafeBytes { try JSONReader.parse($0) }
    }

    func testScalarsAndNumbers() throws {
        XCTAssertEqual(try parse(" 42 "), .integer(42))
        XCTAssertEqual(try parse("-0"), .integer(0))
        XCTAssertEqual(try parse("1.5"), .number(1.5))
        XCTAssertEqual(try parse("1e3"), .number(1000))
        XCTAssertEqual(try parse("-2.5E-1"), .number(-0.25))
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("9223372036854775807"), .integer(Int.max))
        XCTAssertThrowsError(try parse("9223372036854775808"))
        XCTAssertThrowsError(try parse("01"))
        XCTAssertThrowsError(try parse("1."))
        XCTAssertThrowsError(try parse("+1"))
        XCTAssertThrowsError(try parse("tru"))
        XCTAssertThrowsError(try parse(""))
    }

    func testStringsAndEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\n\t""#), .string("a\"b\\c/d\n\t"))
        XCTAssertEqual(try parse(#""\u00e9\u4e2d""#), .string("é中"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try parse("\"中文 ✓\""), .string("中文 ✓"))
        XCTAssertThrowsError(try parse(#""\ud83d""#))
        XCTAssertThrowsError(try parse(#""\x""#))
        XCTAssertThrowsError(try parse("\"abc"))
    }

    func testContainers() throws {
        let v = try parse(#"{"a": [1, 2.5, "x", {"b": null}], "c": {}}"#)
        XCTAssertEqual(v, .object([
            ("a", .array([.integer(1), .number(2.5), .string("x"), .object([("b", .null)])])),
            ("c", .object([])),
        ]))
        XCTAssertThrowsError(try parse(#"{"a": 1,}"#))
        XCTAssertThrowsError(try parse("[1 2]"))
        XCTAssertThrowsError(try parse(#"{"a" 1}"#))
        XCTAssertThrowsError(try parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
        do {
            _ = try parse(#"{"k": 1, "k": 2}"#)
            XCTFail("duplicate key accepted")
        } catch let e as JSONSyntaxError {
            XCTAssertEqual(e.description, "invalid JSON at byte 9: duplicate key \"k\"")
        }
    }
}
