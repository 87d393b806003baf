import Foundation
import XCTest
@testable import Templating

/// Regressions for ../shared/fuzz-findings (template-render-*): each input that crashed, hung or exhausted
/// memory now renders Python's answer or fails with a `TemplateError` naming the problem. Inputs are inlined
/// (the deep ones generated); the test name is the finding's folder name.
final class FuzzFindingTests: XCTestCase {
    /// Small budgets so the budget cases finish fast in debug builds; the defaults are tested apart.
    static let small: TemplateLimits = {
        var l = TemplateLimits()
        l.maxLoopIterations = 10_000
        l.maxMacroCalls = 1_000
        return l
    }()

    func render(_ source: String, limits: TemplateLimits = FuzzFindingTests.small) throws -> String {
        let messages: JSONValue = .array([.object([("role", .string("user")), ("content", .string("Hi"))])])
        return try ChatTemplate(source: source, name: "t.jinja", limits: limits).render(variables: [("messages", messages)])
    }

    func expectError(_ source: String, _ fragment: String, limits: TemplateLimits = FuzzFindingTests.small,
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            let out = try render(source, limits: limits)
            XCTFail("expected an error containing \"\(fragment)\", rendered \(out.prefix(80).debugDescription)", file: file, line: line)
        } catch let e as TemplateError {
            XCTAssertTrue(e.description.contains(fragment), "\(e)", file: file, line: line)
        } catch {
            XCTFail("not a TemplateError: \(error)", file: file, line: line)
        }
    }

    // MARK: - Crashes

    func testExtremeIntegerArguments() throws {
        // template-render-crash-indent-1: " " * -1 is "" in Python, so nothing is indented.
        XCTAssertEqual(try render("{{ \"a\nb\" | indent(-1) }}"), "a\nb")
        // template-render-crash-int-min-1 / -1-2: Int.min // -1 needs 65 bits; Int.min % -1 is 0.
        XCTAssertEqual(try render("{{ (-9223372036854775807 - 1) // -1 }}"), "9223372036854775808")
        XCTAssertEqual(try render("{{ (-9223372036854775807 - 1) % -1 }}"), "0")
        // template-render-crash-slice-step-int-max: the index steps past the end instead of overflowing.
        XCTAssertEqual(try render("{{ \"abc\"[1::9223372036854775807] }}"), "b")
        XCTAssertEqual(try render("{{ \"abc\"[1::-9223372036854775807 - 1] }}"), "b")
        // template-render-crash-zfill-int-min, template-render-memory-center-int-min: width below the length.
        XCTAssertEqual(try render("{{ \"abc\".zfill(-9223372036854775807 - 1) }}"), "abc")
        XCTAssertEqual(try render("{{ \"abc\".center(-9223372036854775807 - 1) }}"), "abc")
        XCTAssertEqual(try render("{{ \"abc\" | truncate(-9223372036854775807 - 1, leeway=-9223372036854775807 - 1) }}"), "...")
    }

    func testHugeCountsAreRefusedBeforeAllocating() {
        expectError("{{ [1] | batch(9223372036854775807, 0) }}", "batch(9223372036854775807, fill_with) would be larger")  // crash-batch-int-max
        expectError("{{ [1] | batch(10**10, 0) }}", "batch(10000000000, fill_with)")                                  // memory-batch-huge-fill
        expectError("{{ [1, 2] * 4611686018427387904 }}", "list * 4611686018427387904 would be larger")               // crash-list-2-62
        expectError("{{ \"abc\".ljust(9223372036854775807) }}", "ljust(9223372036854775807) would be larger")         // crash-ljust-int-max
        expectError("{{ \"abc\" | center(10**10) }}", "center(10000000000)")                                          // hang-center-filter-10-10
        expectError("{{ (\"a\" * 10**9) | length }}", "str * 1000000000 would be larger")                             // hang-str-10-9
        expectError("{{ \"ab\" * 9223372036854775807 }}", "str * 9223372036854775807")                                // hang-str-int-max
        expectError("{{ \"a\" * 10**10 }}", "str * 10000000000")                                                      // memory-str-10-10
        expectError("{{ \"a\nb\" | indent(10**10) }}", "indent(10000000000) of 2 lines")                              // memory-indent-huge
        expectError("{{ messages | tojson(indent=10**10) }}", "tojson(indent=10000000000)")                           // memory-tojson-indent-huge
        expectError("{{ \"abc\".zfill(10**10) }}", "zfill(10000000000)")
        expectError("{{ \"ab\".replace(\"\", \"x\" * 30000000) }}", "replace: result would be larger")
        expectError("{{ \"{0}{0}{0}{0}{0}{0}{0}{0}\".format(\"x\" * 10**7) }}", "str.format: output would be larger")
        expectError("{% set s = \"x\" * 10**7 %}{{ [s, s, s, s, s, s, s] | join }}", "joining 7 strings")
        expectError("{% set s = \"x\" * 10**7 %}{{ s ~ s ~ s ~ s ~ s ~ s ~ s }}", "joining 7 strings")
    }

    func testSelfReferencingNamespace() throws {
        // template-render-crash-namespace-self-ref-repr: printed like jinja2 (Python's repr guards the cycle).
        XCTAssertEqual(try render("{% set ns = namespace() %}{% set ns.x = ns %}{{ ns }}"), "<Namespace {'x': <Namespace {...}>}>")
        // template-render-hang-combo: json.dumps refuses the cycle.
        expectError("{% set ns = namespace() %}{% set ns.x = ns %}{{ ns | tojson }}", "Object of type Namespace")
        // A cycle through a dict (lists and dicts cannot be mutated in the sandbox; namespaces can).
        XCTAssertEqual(try render("{% set ns = namespace() %}{% set d = {'n': ns} %}{% set ns.d = d %}{{ d }} {{ d == d }}"),
                       "{'n': <Namespace {'d': {...}}>} True")
    }

    func testDeepNestingIsASyntaxErrorWithPosition() throws {
        let deep: [(String, String)] = [
            ("template-render-crash-deep-dicts-10-4", "{{ " + String(repeating: "{\"a\":", count: 10_000) + "1" + String(repeating: "}", count: 10_000) + " }}"),
            ("template-render-crash-deep-lists-10-5", "{{ " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + " }}"),
            ("template-render-crash-deep-parens-10-5", "{{ " + String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000) + " }}"),
            ("template-render-crash-not-x10-5", "{{ " + String(repeating: "not ", count: 100_000) + "x }}"),
            ("template-render-crash-combo", "{{ strftime_now(\"%\") }}{{ " + String(repeating: "{\"a\":", count: 10_000) + "1" + String(repeating: "}", count: 10_000) + " }}"),
            ("long operator chain", "{{ 1" + String(repeating: " + 1", count: 100_000) + " }}"),
            ("long filter chain", "{{ 1" + String(repeating: " | abs", count: 100_000) + " }}"),
            ("long attribute chain", "{{ x" + String(repeating: ".a", count: 100_000) + " }}"),
            ("deep blocks", String(repeating: "{% if true %}", count: 10_000) + String(repeating: "{% endif %}", count: 10_000)),
            ("deep unary minus", "{{ " + String(repeating: "-", count: 100_000) + "1 }}"),
        ]
        for (name, source) in deep {
            XCTAssertThrowsError(try render(source), name) { error in
                guard let e = error as? TemplateError, case .syntax(let message, let line, let column) = e.kind else {
                    return XCTFail("\(name): \(error)")
                }
                XCTAssertEqual(message, "template nesting is deeper than 256 levels", name)
                XCTAssertEqual(line, 1, name)
                XCTAssertGreaterThan(column, 1, name)
            }
        }
        // Nesting within the limit still works.
        XCTAssertEqual(try render("{{ " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + " | length }}"), "1")
    }

    // MARK: - Hangs: the work budget

    func testWorkBudget() {
        // template-render-hang-nested-range-10-5-x-10-5
        expectError("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                    "template work budget exceeded: more than 10000 loop iterations")
        // template-render-hang-macro-exponential
        expectError("{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
                    "template work budget exceeded: more than 1000 macro calls")
        expectError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "maximum macro recursion depth (200) exceeded")
        // 200 nested blocks inside a recursing macro: bounded by the evaluation depth, not the stack.
        let blocks = String(repeating: "{% if true %}", count: 200) + "{{ f(n + 1) }}" + String(repeating: "{% endif %}", count: 200)
        expectError("{% macro f(n) %}" + blocks + "{% endmacro %}{{ f(0) }}", "template evaluation nests deeper than 1024 levels")
        var tiny = TemplateLimits()
        tiny.maxOutputBytes = 1000
        expectError("{% for i in range(1000) %}abc{% endfor %}", "template output would be larger than the limit of 1000 bytes", limits: tiny)
        // A list nested deeper than anything prints can still be built by a loop: repr stops at a bound.
        XCTAssertNoThrow(try render("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x | length }}{{ ns.x == ns.x }}"))
        expectError("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x | tojson }}", "nests deeper than 512")
    }

    /// Found by Fuzz/Targets/jinja (crash-1735931f…): Foundation's Substring.range(of:) gave a range past the
    /// substring for a pattern with NULs, and slicing with it trapped.
    func testReplaceWithCountAndNULPattern() throws {
        XCTAssertEqual(try render("{{ 'a|sortaa'|replace('a\u{0}\u{0}\u{0}', '\u{FFFD}b', 4) }}"), "a|sortaa")
        XCTAssertEqual(try render("{{ 'aXaXa' | replace('a', 'bb', 2) }}|{{ 'aaa'.replace('a', '', 1) }}|{{ 'ab'.replace('', '-', 1) }}"),
                       "bbXbbXa|aa|-ab")
    }

    func testDefaultLimits() {
        let d = TemplateLimits.default
        XCTAssertEqual(d.maxNestingDepth, 256)
        XCTAssertEqual(d.maxLoopIterations, 10_000_000)
        XCTAssertEqual(d.maxMacroCalls, 100_000)
        XCTAssertEqual(d.maxOutputBytes, 64 << 20)
    }

    // MARK: - Wrong output: integer overflow

    func testIntegerEdgesAreExact() throws {
        // template-render-wrong-output-int-overflow, compared with Python 3.12.
        XCTAssertEqual(try render("{{ 1e300 | int }}"), String(format: "%.0f", 1e300))
        XCTAssertEqual(try render("{{ -(-9223372036854775807 - 1) }} {{ (-9223372036854775807 - 1) | abs }}"),
                       "9223372036854775808 9223372036854775808")
        XCTAssertEqual(try render("{{ range(9223372036854775806, 9223372036854775807) | list }}"), "[9223372036854775806]")
        XCTAssertEqual(try render("{{ \"abcdef\"[-9223372036854775807-1:2] }}"), "ab")
        // + - * of 64-bit ints are exact (Python ints do not wrap); further big-int arithmetic is an error.
        XCTAssertEqual(try render("{{ 9223372036854775807 + 1 }}"), "9223372036854775808")
        XCTAssertEqual(try render("{{ -9223372036854775807 - 2 }}"), "-9223372036854775809")
        XCTAssertEqual(try render("{{ 9223372036854775807 * 9223372036854775807 }}"), "85070591730234615847396907784232501249")
        XCTAssertEqual(try render("{{ (-9223372036854775807 - 1) * (-9223372036854775807 - 1) }}"), "85070591730234615865843651857942052864")
        XCTAssertEqual(try render("{{ -3037000500 * 3037000500 }}"), "-9223372037000250000")
        XCTAssertEqual(try render("{{ 2 ** 62 }}"), "4611686018427387904")
        expectError("{{ 2 ** 64 }}", "integer arithmetic beyond 64 bits is not supported: 2 ** 64")
        expectError("{{ (9223372036854775807 + 1) + 1 }}", "integer arithmetic beyond 64 bits is not supported")
        expectError("{{ 'x' | int(base=99) }}", "int() base must be >= 2 and <= 36")
        expectError("{{ '{-1}'.format(1) }}", "Replacement index -1 out of range")
    }
}
