import XCTest
import JSON
@testable import Grammar

/// String parameters of strict tool calls: `pattern`, `format`, `minLength`/`maxLength` constrain the raw text up
/// to `</parameter>` (no JSON escapes), and the text can never contain the closing tag.
final class ToolParameterTests: XCTestCase {
    private func grammar(_ parameter: String) throws -> CompiledGrammar {
        let params = try JSONValue.parse(#"{"type":"object","properties":{"v":\#(parameter)},"required":["v"]}"#)
        return CompiledGrammar(try ToolCallGrammar.grammar(tools: [.init(name: "f", parameters: params)], mode: .one),
                               vocabulary: SchemaCorpusTests.byteVocabulary)
    }

    private func accepts(_ g: CompiledGrammar, value: String) -> Bool {
        var m = g.matcher()
        let call = "<tool_call>\n<function=f>\n<parameter=v>\n\(value)\n</parameter>\n</function>\n</tool_call>"
        for b in call.utf8 where !m.accept(bytes: [b]) { return false }
        return m.isComplete
    }

    func testPatternIsMatchedOnTheRawText() throws {
        let g = try grammar(#"{"type":"string","pattern":"^[A-Z]{2}-\\d{3}\"\\\\x$"}"#)
        XCTAssertTrue(accepts(g, value: #"AB-123"\x"#), "quote and backslash are written as themselves")
        XCTAssertFalse(accepts(g, value: #"AB-123\"\\x"#), "no JSON escapes in a parameter")
        XCTAssertFalse(accepts(g, value: #"AB-12"\x"#))
        XCTAssertFalse(accepts(g, value: "free text"))
    }

    func testFormatsApply() throws {
        let date = try grammar(#"{"type":"string","format":"date"}"#)
        XCTAssertTrue(accepts(date, value: "2024-02-29"))
        XCTAssertFalse(accepts(date, value: "2024-13-01"))
        XCTAssertFalse(accepts(date, value: "tomorrow"))
        let uuid = try grammar(#"{"type":"string","format":"uuid"}"#)
        XCTAssertTrue(accepts(uuid, value: "123e4567-e89b-12d3-a456-426614174000"))
        XCTAssertFalse(accepts(uuid, value: "123e4567e89b12d3a456426614174000"))
    }

    func testUnanchoredPatternsAndDotNeverWriteTheClosingTag() throws {
        let g = try grammar(#"{"type":"string","pattern":"id[^x]*"}"#)
        XCTAssertTrue(accepts(g, value: "my id is 42\nand more"), "unanchored: anything around, newlines too")
        XCTAssertFalse(accepts(g, value: "id a</parameter>b"), "`<` is not produced by open sets")
        XCTAssertFalse(accepts(g, value: "no match"))
        let dot = try grammar(#"{"type":"string","pattern":"^a.b$"}"#)
        XCTAssertTrue(accepts(dot, value: "a\u{e9}b"))
        XCTAssertFalse(accepts(dot, value: "a<b"))
        XCTAssertFalse(accepts(dot, value: "a\nb"), "`.` is not a newline")
        let explicit = try grammar(#"{"type":"string","pattern":"^<[a-z]+>$"}"#)
        XCTAssertTrue(accepts(explicit, value: "<tag>"), "a `<` the pattern writes is kept")
    }

    func testLengths() throws {
        let g = try grammar(#"{"type":"string","minLength":2,"maxLength":3}"#)
        XCTAssertFalse(accepts(g, value: "a"))
        XCTAssertTrue(accepts(g, value: "a\u{e9}"), "characters, not bytes")
        XCTAssertTrue(accepts(g, value: "abc"))
        XCTAssertFalse(accepts(g, value: "abcd"))
        let atLeast = try grammar(#"{"type":"string","minLength":2}"#)
        XCTAssertFalse(accepts(atLeast, value: "a"))
        XCTAssertTrue(accepts(atLeast, value: String(repeating: "long ", count: 20)))
        XCTAssertFalse(accepts(atLeast, value: "ab</parameter>"))
    }

    func testUnsupportedCombinationsAreNamed() {
        for (schema, word) in [(#"{"type":"string","pattern":"a","maxLength":3}"#, "maxLength"),
                               (#"{"type":"string","format":"hostname"}"#, "hostname"),
                               (#"{"type":"string","pattern":"(?=a)"}"#, "lookaround"),
                               (#"{"type":"string","minLength":-1}"#, "minLength")] {
            XCTAssertThrowsError(try grammar(schema), schema) { XCTAssertTrue("\($0)".contains(word), "\($0) should name \(word)") }
        }
    }
}
