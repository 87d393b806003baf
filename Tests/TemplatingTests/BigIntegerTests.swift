import Foundation
import XCTest
@testable import Templating

/// Integers beyond 64 bits in chat data print exactly, as Python does (they used to become
/// `1.2345678901234567e+19`), and arithmetic on them fails with a message naming the operation.
final class BigIntegerTests: XCTestCase {
    private let big: JSONValue = .bigInt("12345678901234567890")

    private func render(_ source: String, _ x: JSONValue) throws -> String {
        try ChatTemplate(source: source, name: "t").render(variables: [("x", x)])
    }

    func testPrintsStringsAndTojsonExactly() throws {
        XCTAssertEqual(try render("{{ x }}|{{ x|string }}|{{ x|tojson }}|{{ [x]|tojson }}", big),
                       "12345678901234567890|12345678901234567890|12345678901234567890|[12345678901234567890]")
        XCTAssertEqual(try render("{{ -x }}|{{ x|abs }}|{{ x|int }}|{{ '%d' % x }}", .bigInt("-12345678901234567890")),
                       "12345678901234567890|12345678901234567890|-12345678901234567890|-12345678901234567890")
        XCTAssertEqual(try render("{{ x is integer }}{{ x is number }}{{ x == x }}{{ x != 5 }}", big), "TrueTrueTrueTrue")
        XCTAssertEqual(try render("{{ x > 9223372036854775807 }}{{ -x < -9223372036854775807 }}{{ x < 1e20 }}", big), "TrueTrueTrue")
        XCTAssertEqual(try render("{{ x|float }}", big), "1.2345678901234567e+19")
    }

    /// Python would compute these exactly; this engine refuses instead of wrapping, trapping or rounding.
    func testIntegerArithmeticIsRefusedByName() throws {
        for op in ["+", "-", "*", "//", "%"] {
            XCTAssertThrowsError(try render("{{ x \(op) 1 }}", big), op) { error in
                XCTAssertTrue("\(error)".contains("integer arithmetic beyond 64 bits is not supported: 12345678901234567890 \(op) 1"),
                              "\(error)")
            }
        }
        XCTAssertEqual(try render("{{ x + 0.5 }}", big), "1.2345678901234567e+19")  // with a float: float arithmetic
        XCTAssertThrowsError(try render("{{ x + 'a' }}", big))
    }

    /// 64-bit edge cases that overflowed before: results beyond Int become big integers instead of trapping.
    func testInt64EdgesDoNotTrap() throws {
        let min: JSONValue = .int(Int.min)
        XCTAssertEqual(try render("{{ -x }}|{{ x|abs }}|{{ x // -1 }}|{{ x % -1 }}", min),
                       "9223372036854775808|9223372036854775808|9223372036854775808|0")
        XCTAssertEqual(try render("{{ 1e300|int }}", .null).count, 301)
        XCTAssertEqual(try render("{{ range(9223372036854775800, 9223372036854775807, 5)|list }}", .null),
                       "[9223372036854775800, 9223372036854775805]")
    }

    /// The real Qwen3.5 template, a tool call whose argument is a 20-digit integer.
    func testQwenTemplateRendersBigToolArgument() throws {
        var url = URL(fileURLWithPath: #filePath)
        while url.lastPathComponent != "Tests" { url.deleteLastPathComponent() }
        let file = url.appendingPathComponent("Fixtures/models/qwen35-dense-tiny/chat_template.jinja")
        let template = try ChatTemplate(source: String(contentsOf: file, encoding: .utf8), name: "chat_template.jinja")
        let messages = try JSONValue.parse(#"""
            [{"role": "user", "content": "Count."},
             {"role": "assistant", "content": "", "tool_calls": [
                {"type": "function", "function": {"name": "count", "arguments": {"n": 12345678901234567890, "m": [-98765432109876543210]}}}]}]
            """#)
        let prompt = try template.render(messages: XCTUnwrap(messages.arrayValue), tools: nil,
                                         options: ChatTemplateOptions(addGenerationPrompt: false))
        XCTAssertTrue(prompt.contains("<parameter=n>\n12345678901234567890\n</parameter>"), prompt)
        XCTAssertTrue(prompt.contains("<parameter=m>\n[-98765432109876543210]\n</parameter>"), prompt)
        XCTAssertFalse(prompt.contains("e+19"), prompt)
    }
}
