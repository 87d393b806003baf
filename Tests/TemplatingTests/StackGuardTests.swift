import Foundation
import XCTest
@testable import Templating

/// Deep evaluation ends in a render error on any thread, whatever a level costs in stack bytes: found by the
/// jinja fuzz target in its unoptimised AddressSanitizer build (`Fuzz/check.sh`), where 200 levels of macro
/// recursion over a nested body overflowed the main thread's 8 MiB before `maxEvaluationDepth` (1024) held.
final class StackGuardTests: XCTestCase {
    /// A macro recursing through 200 nested `if` blocks: 1024 levels deep when the depth limit stops it.
    static let deep = "{% macro f(n) %}" + String(repeating: "{% if true %}", count: 200) + "{{ f(n + 1) }}"
        + String(repeating: "{% endif %}", count: 200) + "{% endmacro %}{{ f(0) }}"

    /// Renders `source` on a thread with `stackSize` bytes of stack; the error's text, or nil when it rendered.
    func renderError(_ source: String, stackSize: Int) throws -> String? {
        let template = try ChatTemplate(source: source, name: "t.jinja")
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: String?? = .none
        let thread = Thread {
            do {
                _ = try template.render(variables: [])
                result = .some(nil)
            } catch {
                result = .some("\(error)")
            }
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
        done.wait()
        return try XCTUnwrap(result)
    }

    func testSmallStackErrorsInsteadOfOverflowing() throws {
        // 512 KiB (a macOS secondary thread's default) holds far fewer than 1024 levels in any build: the
        // stack guard must stop it.
        let message = try renderError(Self.deep, stackSize: 512 << 10)
        XCTAssertTrue(message?.contains("template evaluation nests too deeply for this thread's stack") == true, "\(message ?? "rendered")")
    }

    func testLargeStackHitsTheDepthLimit() throws {
        // With room to spare the configured limit is what stops it, as before.
        let message = try renderError(Self.deep, stackSize: 256 << 20)
        XCTAssertTrue(message?.contains("template evaluation nests deeper than 1024 levels") == true, "\(message ?? "rendered")")
    }

    func testOrdinaryNestingOnASmallStack() throws {
        // 60 levels of macro recursion (a few hundred evaluation levels, measured past the first 8) still
        // render on a main-thread-sized stack.
        let source = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(60) }}"
        XCTAssertNil(try renderError(source, stackSize: 8 << 20))
    }
}
