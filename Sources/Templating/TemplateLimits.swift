import Foundation

/// How much work one template may do. A chat template comes with a downloaded model and runs on every
/// request, so a hostile or broken one must end in an error, never a hang, an out-of-memory or a stack
/// overflow. The defaults are far above what real chat templates need (Qwen3.5's renders a 100-message
/// chat with 128 tools in well under 10^5 loop iterations, a few hundred macro calls and < 1 MiB of text).
public struct TemplateLimits: Sendable, Equatable {
    /// Syntactic nesting (brackets, operators, filters, blocks) the parser accepts; also bounds the
    /// evaluator's recursion on the parsed tree.
    public var maxNestingDepth: Int = 256
    /// Statements and expressions being evaluated at once, macro recursion included (each macro body adds
    /// its own nesting).
    public var maxEvaluationDepth: Int = 1024
    /// `for` iterations over one render, summed over all loops.
    public var maxLoopIterations: Int = 10_000_000
    /// Macro calls over one render, and the depth of macro recursion.
    public var maxMacroCalls: Int = 100_000
    public var maxMacroDepth: Int = 200
    /// Bytes of any one string the template builds (its output included), and elements of any one list.
    /// Sizes are checked before allocating (`"a" * n`, `indent(n)`, `center(n)`, `batch(n)` …).
    public var maxOutputBytes: Int = 64 << 20

    public init() {}

    public static let `default` = TemplateLimits()
}

/// The work one render has done so far against its `TemplateLimits`.
final class RenderBudget {
    let limits: TemplateLimits
    private var loopIterations = 0
    private var macroCalls = 0

    init(_ limits: TemplateLimits) { self.limits = limits }

    func countLoopIteration() throws {
        loopIterations += 1
        guard loopIterations <= limits.maxLoopIterations else {
            throw RuntimeFailure("template work budget exceeded: more than \(limits.maxLoopIterations) loop iterations")
        }
    }

    func countMacroCall() throws {
        macroCalls += 1
        guard macroCalls <= limits.maxMacroCalls else {
            throw RuntimeFailure("template work budget exceeded: more than \(limits.maxMacroCalls) macro calls")
        }
    }

    /// Refuses a string or list of `count` × `unit` bytes/elements before it is built; `what` names the
    /// expression (e.g. "'ab' * 9223372036854775807").
    func checkSize(_ count: Int, times unit: Int = 1, _ what: @autoclosure () -> String) throws {
        let (total, overflow) = max(0, count).multipliedReportingOverflow(by: max(0, unit))
        guard !overflow, total <= limits.maxOutputBytes else {
            throw RuntimeFailure("\(what()) would be larger than the template output limit of \(limits.maxOutputBytes) bytes")
        }
    }

    /// `parts.joined(separator:)`, refused before joining when the result would pass the limit.
    func joined(_ parts: [String], separator: String) throws -> String {
        var total = max(0, parts.count - 1) * separator.utf8.count
        for p in parts { total += p.utf8.count }
        try checkSize(total, "joining \(parts.count) strings")
        return parts.joined(separator: separator)
    }

    /// Refuses a string or list that grew past the limit (concatenation, output).
    func checkSize(_ value: Value, _ what: @autoclosure () -> String) throws {
        switch value {
        case .string(let s): try checkSize(s.utf8.count, what())
        case .list(let l): try checkSize(l.items.count, what())
        case .tuple(let t): try checkSize(t.count, what())
        default: break
        }
    }
}
