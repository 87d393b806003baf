import XCTest
import JSON
@testable import Grammar

/// The fast mask (per-node tables + uncertain checks + state cache) against its plain twin (every token run
/// through the pushdown automaton), rollback, completion, and the tool-call grammar.
final class MatcherTests: XCTestCase {
    func testFastMaskEqualsReferenceAlongDocuments() throws {
        let tok = Fixtures.tokenizer
        let cases: [(String, String)] = [
            (#"{"type":"object","properties":{"s":{"type":"string"},"n":{"type":"number"},"e":{"enum":["ab","abc"]}},"required":["s","n","e"]}"#,
             #"{"s":"x \"y\" é","n":-1.5e2,"e":"abc"}"#),
            (##"{"$ref":"#/$defs/t","$defs":{"t":{"type":"array","items":{"anyOf":[{"type":"integer"},{"$ref":"#/$defs/t"}]}}}}"##, "[1,[2,[]],33]"),
            // One string rule called from places that continue differently (`,` `]` `}`, the grammar's end).
            (#"{"type":"object","properties":{"a":{"type":"array","items":{"type":"string"}},"b":{"type":"string","maxLength":4}},"required":["a","b"]}"#,
             #"{"a":["x\"", "yé"],"b":"ab"}"#),
            (#"{"type":"string"}"#, #""he said \"hi\"""#),
        ]
        for (schema, doc) in cases {
            let g = CompiledGrammar(try JSONSchemaCompiler.grammar(try JSONValue.parse(schema)), vocabulary: Fixtures.vocabulary)
            var m = g.matcher()
            // Every third position keeps the debug-build reference walk (248k tokens each) affordable.
            for (i, id) in tok.encode(doc).enumerated() {
                if i % 3 == 0 { XCTAssertEqual(m.allowedTokens(), m.referenceAllowedTokens(), "\(doc) at token \(i)") }
                XCTAssertTrue(m.accept(token: id))
            }
            XCTAssertEqual(m.allowedTokens(), m.referenceAllowedTokens(), "\(doc) at the end")
            XCTAssertTrue(m.isComplete)
        }
    }

    /// Tool calls with the real tokenizer: free text before the call and inside parameters (whose exits go on
    /// into `\n</parameter>`), a format-constrained parameter, JSON inside XML.
    func testFastMaskEqualsReferenceInToolCalls() throws {
        let params = try JSONValue.parse(#"{"type":"object","properties":{"city":{"type":"string"},"day":{"type":"string","format":"date"},"n":{"type":"integer"},"o":{"type":"object","properties":{"x":{"type":"boolean"}}}},"required":["city"]}"#)
        let g = CompiledGrammar(try ToolCallGrammar.grammar(tools: [.init(name: "get_weather", parameters: params), .init(name: "noop", parameters: nil)], mode: .optional),
                                vocabulary: Fixtures.vocabulary)
        let text = "Sure.\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis </b>\n</parameter>\n<parameter=day>\n2024-05-01\n</parameter>\n<parameter=o>\n{\"x\": true}\n</parameter>\n</function>\n</tool_call>"
        var m = g.matcher()
        for (i, id) in Fixtures.tokenizer.encode(text).enumerated() {
            // Every sixth position keeps the debug-build reference walk affordable; it still meets the free text,
            // the exits into `\n</parameter>`, the date and the JSON object.
            if i % 6 == 0 { XCTAssertEqual(m.allowedTokens(), m.referenceAllowedTokens(), "token \(i)") }
            XCTAssertTrue(m.accept(token: id), "token \(i)")
        }
        XCTAssertEqual(m.allowedTokens(), m.referenceAllowedTokens(), "at the end")
        XCTAssertTrue(m.isComplete)
    }

    func testRollbackRestoresTheState() throws {
        let bytes = Vocabulary(tokens: (0..<256).map { [UInt8($0)] })
        let g = CompiledGrammar(try JSONSchemaCompiler.grammar(try JSONValue.parse(#"{"enum":["abc","abd"]}"#)), vocabulary: bytes)
        var m = g.matcher()
        for b in Array(#""ab"#.utf8) { XCTAssertTrue(m.accept(token: Int(b))) }
        let before = m.allowedTokens()
        XCTAssertEqual(before.ids, [Int(UInt8(ascii: "c")), Int(UInt8(ascii: "d"))])
        XCTAssertTrue(m.accept(token: Int(UInt8(ascii: "c"))))
        XCTAssertFalse(m.accept(token: Int(UInt8(ascii: "c"))), "refused tokens leave the state alone")
        XCTAssertTrue(m.accept(token: Int(UInt8(ascii: "\""))))
        XCTAssertTrue(m.isComplete)
        XCTAssertFalse(m.canContinue)
        m.rollback(2)
        XCTAssertFalse(m.isComplete)
        XCTAssertEqual(m.allowedTokens(), before)
    }

    func testToolCallGrammarAcceptsTheTemplateFormOnly() throws {
        let params = try JSONValue.parse(#"{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"opts":{"type":"object","properties":{"x":{"type":"boolean"}}}},"required":["city"]}"#)
        let g = CompiledGrammar(try ToolCallGrammar.grammar(tools: [.init(name: "get_weather", parameters: params), .init(name: "noop", parameters: nil)], mode: .required),
                                vocabulary: SchemaCorpusTests.byteVocabulary)
        func accepts(_ s: String) -> Bool {
            var m = g.matcher()
            for b in s.utf8 where !m.accept(bytes: [b]) { return false }
            return m.isComplete
        }
        let call = "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis, <b>France</b>\nline 2\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>"
        XCTAssertTrue(accepts(call))
        XCTAssertTrue(accepts(call + "\n<tool_call>\n<function=noop>\n</function>\n</tool_call>"))
        XCTAssertTrue(accepts("<tool_call>\n<function=get_weather>\n<parameter=city>\nx\n</parameter>\n<parameter=opts>\n{\"x\":true}\n</parameter>\n</function>\n</tool_call>"))
        XCTAssertFalse(accepts("<tool_call>\n<function=get_weather>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>"), "city is required")
        XCTAssertFalse(accepts("<tool_call>\n<function=other>\n</function>\n</tool_call>"), "unknown function")
        XCTAssertFalse(accepts(call.replacingOccurrences(of: "\n3\n", with: "\nthree\n")), "days is an integer")
        XCTAssertFalse(accepts("sure! " + call), "required: no text before the call")
        let optional = CompiledGrammar(try ToolCallGrammar.grammar(tools: [.init(name: "noop", parameters: nil)], mode: .optional),
                                       vocabulary: SchemaCorpusTests.byteVocabulary)
        var m = optional.matcher()
        for b in "Let me look.\n\n<tool_call>\n<function=noop>\n</function>\n</tool_call>".utf8 { XCTAssertTrue(m.accept(bytes: [b])) }
        XCTAssertTrue(m.isComplete)
    }

    func testIntegerRangesAreExact() throws {
        for (lo, hi) in [(-15, 120), (0, 0), (7, 7), (-100, -3), (95, 1005)] {
            let g = CompiledGrammar(try JSONSchemaCompiler.grammar(.object([("type", .string("integer")), ("minimum", .int(lo)), ("maximum", .int(hi))])),
                                    vocabulary: SchemaCorpusTests.byteVocabulary)
            for v in (lo - 30)...(hi + 30) {
                var m = g.matcher()
                let ok = String(v).utf8.allSatisfy { m.accept(bytes: [$0]) } && m.isComplete
                XCTAssertEqual(ok, (lo...hi).contains(v), "\(v) in \(lo)...\(hi)")
            }
        }
    }
}
