import Foundation
import XCTest
import JSON

/// The one JSON reader's policy: exact integers, errors naming line and column for everything it refuses.
final class JSONParserTests: XCTestCase {
    private func expectError(_ text: String, _ message: String, line: Int, column: Int,
                             file: StaticString = #filePath, lineNumber: UInt = #line) {
        XCTAssertThrowsError(try JSONValue.parse(text), file: file, line: lineNumber) { error in
            guard let e = error as? JSONParseError else { return XCTFail("\(error)", file: file, line: lineNumber) }
            XCTAssertEqual(e, JSONParseError(message: message, line: line, column: column), file: file, line: lineNumber)
        }
    }

    func testScalarsAndNumbers() throws {
        XCTAssertEqual(try JSONValue.parse(" 42 "), .int(42))
        XCTAssertEqual(try JSONValue.parse("1.5"), .double(1.5))
        XCTAssertEqual(try JSONValue.parse("1e3"), .double(1000))
        XCTAssertEqual(try JSONValue.parse("-2.5E-1"), .double(-0.25))
        XCTAssertEqual(try JSONValue.parse("true"), .bool(true))
        XCTAssertEqual(try JSONValue.parse("null"), .null)
        XCTAssertEqual(try JSONValue.parse("9223372036854775807"), .int(Int.max))
        XCTAssertEqual(try JSONValue.parse("-9223372036854775808"), .int(Int.min))
        for bad in ["01", "1.", "+1", "tru", "", "-", ".5", "1e", "[1 2]", "{\"a\": 1,}", "{\"a\" 1}", "[1] x"] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
    }

    /// `-0` is the integer 0 (as in Python's `json.loads`); `-0.0` stays a negative-zero float.
    func testNegativeZero() throws {
        XCTAssertEqual(try JSONValue.parse("-0"), .int(0))
        XCTAssertEqual(try JSONValue.parse("-0").serialized(), "0")
        XCTAssertEqual(try JSONValue.parse("-0.0").serialized(), "-0.0")
    }

    /// Integers beyond 64 bits stay exact through parse and serialize (a tool argument must not turn into a float).
    func testBigIntegersRoundTrip() throws {
        for digits in ["12345678901234567890", "-12345678901234567890", "9223372036854775808", "-9223372036854775809",
                       "123456789012345678901234567890123456789012345678901234567890"] {
            XCTAssertEqual(try JSONValue.parse(digits), .bigInt(digits))
            XCTAssertEqual(try JSONValue.parse("[\(digits)]").serialized(), "[\(digits)]")
        }
        XCTAssertEqual(JSONValue.integer(digits: "42"), .int(42))
        XCTAssertEqual(JSONValue.integer(digits: "-12345678901234567890"), .bigInt("-12345678901234567890"))
        XCTAssertNil(JSONValue.integer(digits: "0123"))
        XCTAssertNil(JSONValue.integer(digits: "1e5"))
        XCTAssertEqual(try JSONValue.parse("12345678901234567890").doubleValue, 1.2345678901234567e19)
        XCTAssertNil(try JSONValue.parse("12345678901234567890").intValue)
    }

    func testNumberOutOfRange() {
        expectError("[1,\n 1e400]", "number out of range: 1e400", line: 2, column: 2)
        expectError("-1e400", "number out of range: -1e400", line: 1, column: 1)
        XCTAssertEqual(try JSONValue.parse("1e-400"), .double(0))  // underflow rounds to zero, as in Python
    }

    func testDuplicateKeysAreErrors() throws {
        expectError(#"{"k": 1, "k": 2}"#, #"duplicate key "k""#, line: 1, column: 10)
        // Past the linear scan: the hash table finds it too.
        let many = (0..<100).map { "\"k\($0)\": \($0)" }.joined(separator: ", ")
        XCTAssertEqual(try JSONValue.parse("{\(many)}").objectValue?.count, 100)
        XCTAssertThrowsError(try JSONValue.parse("{\(many), \"k57\": 0}")) { error in
            XCTAssertEqual((error as? JSONParseError)?.message, #"duplicate key "k57""#)
        }
        // Keys compare byte for byte: precomposed and decomposed é are different keys.
        XCTAssertEqual(try JSONValue.parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}").objectValue?.count, 2)
        // The same key in sibling objects is fine.
        XCTAssertNoThrow(try JSONValue.parse(#"[{"a": 1}, {"a": 2}]"#))
    }

    func testDepthLimit() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try JSONValue.parse(ok))
        let deep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        expectError(deep, "nesting deeper than 512", line: 1, column: 513)
        // Far deeper input must fail the same way, not overflow the stack.
        XCTAssertThrowsError(try JSONValue.parse(String(repeating: "{\"a\":", count: 100_000)))
    }

    func testSurrogates() throws {
        XCTAssertEqual(try JSONValue.parse(#""\ud83d\ude00""#), .string("😀"))
        expectError(#""ab\ud83d""#, #"unpaired surrogate \uD83D"#, line: 1, column: 4)
        expectError(#""\ude00x""#, #"unpaired surrogate \uDE00"#, line: 1, column: 2)
        expectError(#""\ud83d\u0041""#, #"unpaired surrogate \uD83D"#, line: 1, column: 2)
    }

    func testUTF8() throws {
        XCTAssertEqual(try JSONValue.parse(Data([0xEF, 0xBB, 0xBF] + Array("[1]".utf8))), .array([.int(1)]))
        XCTAssertEqual(try JSONValue.parse("\"中文 ✓\""), .string("中文 ✓"))
        XCTAssertThrowsError(try JSONValue.parse(Data([0x22, 0x61, 0xFF, 0x22]))) { error in
            XCTAssertEqual(error as? JSONParseError, JSONParseError(message: "invalid UTF-8 in a string", line: 1, column: 3))
        }
        XCTAssertThrowsError(try JSONValue.parse(Data([0x5B, 0xC3, 0x5D])))
        // Columns count scalars, not bytes.
        expectError("[\"é\", x]", "unexpected character 'x'", line: 1, column: 7)
    }

    func testEscapesAndOrder() throws {
        let v = try JSONValue.parse(#"{"z": 1, "a": [true, null, 1.5, -2e3, "\u00e9\n\"\\\/"], "m": {}}"#)
        XCTAssertEqual(v["a"]?[4], .string("é\n\"\\/"))
        XCTAssertEqual(v.objectValue?.map(\.0), ["z", "a", "m"])
        XCTAssertEqual(v.serialized(), #"{"z":1,"a":[true,null,1.5,-2000.0,"é\n\"\\/"],"m":{}}"#)
        expectError("\"a\u{1}\"", "control character in a string", line: 1, column: 3)
        expectError("{\n  \"a\": 1,\n  \"b\" 2\n}", "expected ':' after key \"b\"", line: 3, column: 7)
    }
}
