import Foundation
import XCTest
@testable import Templating

/// Direct engine checks (expected strings verified against jinja2 3.1.6 in transformers' environment).
final class EngineTests: XCTestCase {
    func render(_ source: String, _ variables: [(String, JSONValue)] = []) throws -> String {
        try ChatTemplate(source: source, name: "t").render(variables: variables)
    }

    func expectError(_ source: String, _ variables: [(String, JSONValue)] = [], file: StaticString = #filePath,
                     line: UInt = #line) -> TemplateError? {
        do {
            let out = try render(source, variables)
            XCTFail("expected an error, rendered \(out.debugDescription)", file: file, line: line)
        } catch let e as TemplateError {
            return e
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
        return nil
    }

    func testNewlinesNormalised() throws {
        // jinja2: \r\n and lone \r become \n (in text and inside tags), one trailing newline is dropped.
        XCTAssertEqual(try render("x\r\ny\rz\r\r\n{{ 1\r\n+ 1 }}\r\n"), "x\ny\nz\n\n2")
        XCTAssertEqual(try render("{% if true %}\r\nA\r{% endif %}\r\n\r\n"), "A\n")
    }

    func testTrimAndLstripBlocks() throws {
        XCTAssertEqual(try render("{% if true %}\nA\n{% endif %}\nB\n"), "A\nB")
        XCTAssertEqual(try render("x\n    {% if true %}\n    y\n    {% endif %}\nz"), "x\n    y\nz")
        // lstrip_blocks does not apply to {{ }}; {%+ disables it; +%} disables trim_blocks.
        XCTAssertEqual(try render("a\n    {{ 'v' }}\n  {% if 1 %}b{% endif %}"), "a\n    v\nb")
        XCTAssertEqual(try render("a\n    {%+ if true %}b{% endif +%}\nc"), "a\n    b\nc")
        XCTAssertEqual(try render("{{ 1 }}   {% if true %}x{% endif %}"), "1   x")
    }

    func testWhitespaceControl() throws {
        XCTAssertEqual(try render("a   \n  {%- if true -%}  \n  b  \n  {%- endif -%}\n  c"), "abc")
        XCTAssertEqual(try render("a  {{- 'x' -}}  b\n{{ 'y' }}\n"), "axb\ny")
        XCTAssertEqual(try render("a\n  {# note #}\nb {#- x -#} c\n{# z #}d"), "a\nbc\nd")
        XCTAssertEqual(try render("line\n\n"), "line\n", "keep_trailing_newline=False drops exactly one")
    }

    func testScoping() throws {
        XCTAssertEqual(try render("{% set x = 1 %}{% for i in range(3) %}{% set x = i %}{{ x }}{% endfor %}|{{ x }}"), "012|1")
        XCTAssertEqual(try render("{% set ns = namespace(x=0) %}{% for i in range(4) %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}"), "6")
        XCTAssertEqual(try render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5")
        XCTAssertEqual(try render("{% macro m() %}{% set z = 1 %}{{ z }}{% endmacro %}{{ m() }}[{{ z }}]"), "1[]")
    }

    func testMacros() throws {
        XCTAssertEqual(try render("{% macro f(a, b=2, c='x') %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{{ f(1) }} {{ f(1, 3) }} {{ f(1, c='y') }}"),
                       "1-2-x 1-3-x 1-2-y")
        XCTAssertEqual(try render("{% macro f() %}\n  hi  \n{% endmacro %}[{{ f()|trim }}]"), "[hi]")
    }

    func testLoopVariables() throws {
        XCTAssertEqual(try render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}"),
                       "103TrueFalse3|212FalseFalse3|321FalseTrue3|")
        XCTAssertEqual(try render("{% for x in [1, 2, 3] %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }};{% endfor %}"), "<1>2;1<2>3;2<3>;")
        XCTAssertEqual(try render("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}"), "0134")
        XCTAssertEqual(try render("{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}", [("d", .object([("z", .int(1)), ("a", .null)]))]), "z=1;a=None;")
    }

    func testSlicingByCodePoint() throws {
        let vars: [(String, JSONValue)] = [("s", .string("héllo😀")), ("l", .array([1, 2, 3, 4].map(JSONValue.int)))]
        XCTAssertEqual(try render("{{ s[::-1] }}|{{ s[1:3] }}|{{ s[-1] }}|{{ s|length }}", vars), "😀olléh|él|😀|6")
        XCTAssertEqual(try render("{{ l[::-1] }}{{ l[1:] }}{{ l[:-1] }}{{ l[::2] }}{{ l[-1] }}", vars), "[4, 3, 2, 1][2, 3, 4][1, 2, 3][1, 3]4")
    }

    func testPythonPrinting() throws {
        XCTAssertEqual(try render("{{ true }} {{ None }} {{ 1.0 }} {{ 0.1 }} {{ 1e-05 }} {{ 1e16 }} {{ 7 / 2 }} {{ [1, 'a', none] }} {{ {'k': 'v'} }} {{ (1,) }}"),
                       "True None 1.0 0.1 1e-05 1e+16 3.5 [1, 'a', None] {'k': 'v'} (1,)")
        XCTAssertEqual(JSONWriter.floatRepr(5e-324), "5e-324")
        XCTAssertEqual(JSONWriter.floatRepr(1.7976931348623157e308), "1.7976931348623157e+308")
        XCTAssertEqual(JSONWriter.floatRepr(0.30000000000000004), "0.30000000000000004")
        XCTAssertEqual(JSONWriter.floatRepr(1234567890123456.0), "1234567890123456.0")
        XCTAssertEqual(JSONWriter.floatRepr(0.0001), "0.0001")
        XCTAssertEqual(PythonFormat.stringRepr("it's"), "\"it's\"")
        XCTAssertEqual(PythonFormat.stringRepr("a\n\u{1}é"), "'a\\n\\x01é'")
    }

    func testToJSON() throws {
        let d: JSONValue = .object([("name", .string("é中😀")), ("n", .array([.int(1), .double(2.0), .null])), ("q", .string("a\"b\\\n\u{1}"))])
        XCTAssertEqual(try render("{{ d|tojson }}", [("d", d)]),
                       #"{"name": "é中😀", "n": [1, 2.0, null], "q": "a\"b\\\n\u0001"}"#)
        XCTAssertEqual(try render("{{ d|tojson(indent=2) }}", [("d", .object([("a", .array([.int(1)])), ("e", .object([]))]))]),
                       "{\n  \"a\": [\n    1\n  ],\n  \"e\": {}\n}")
        XCTAssertEqual(d.serialized(), #"{"name":"é中😀","n":[1,2.0,null],"q":"a\"b\\\n\u0001"}"#)
    }

    func testSyntaxErrorHasLineAndColumn() throws {
        let e = expectError("line one\n{{ foo( }}")
        guard case .syntax(_, let line, let column)? = e?.kind else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(line, 2)
        XCTAssertEqual(column, 9)
        XCTAssertTrue(e!.description.hasPrefix("t:2:9: syntax error: unexpected '}', expected ')'"), e!.description)
        let unclosed = expectError("a\n{% for x in y %}\nb")
        XCTAssertEqual(unclosed?.message, "Unexpected end of template. Jinja was looking for the following tags: 'endfor' or 'else'. The innermost block that needs to be closed is 'for'.")
    }

    func testUnknownFilterAndTestAreCompileErrors() throws {
        // Reported at parse time outside if-statements (like jinja2 >= 3.0).
        XCTAssertThrowsError(try ChatTemplate(source: "a\n  {% for i in x %}{{ x|nosuch }}{% endfor %}")) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .unknownFilter(name: "nosuch", line: 2, column: 23))
        }
        // Inside an if: only an error when reached.
        let lazy = try ChatTemplate(source: "{% if x %}{{ y|nosuch }}{% endif %}ok")
        XCTAssertEqual(try lazy.render(variables: []), "ok")
        XCTAssertThrowsError(try lazy.render(variables: [("x", .bool(true))])) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .unknownFilter(name: "nosuch", line: 1, column: 15))
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{{ x is frob }}")) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .unknownTest(name: "frob", line: 1, column: 6))
        }
    }

    func testRuntimeAndRaisedErrors() throws {
        let e = expectError("ok\n  {{ 'a' + 1 }}")
        XCTAssertEqual(e?.kind, .runtime(message: "can only concatenate str (not \"int\") to str", line: 2, column: 10))
        let raised = expectError("{{ raise_exception('No messages provided.') }}")
        XCTAssertEqual(raised?.raisedMessage, "No messages provided.")
        XCTAssertEqual(expectError("{{ missing.attr }}")?.message, "'missing' is undefined")
    }
}
