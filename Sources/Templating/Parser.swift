import Foundation

/// Recursive-descent parser following jinja2's grammar (statements in this file, expressions in
/// ParserExpressions.swift).
struct Parser {
    let tokens: [Token]
    let name: String
    var i = 0
    /// Open blocks and the end tags each body is waiting for (for jinja2-style error messages).
    var tagStack: [String] = []
    var endStack: [[String]] = []
    /// Current syntactic nesting and its bound: deep input (10^5 brackets, `not`s or `+`s) must be a syntax
    /// error, not a stack overflow here, in the validator or in the evaluator.
    var depth = 0
    let maxDepth: Int

    init(tokens: [Token], name: String, maxDepth: Int = TemplateLimits.default.maxNestingDepth) {
        self.tokens = tokens; self.name = name; self.maxDepth = maxDepth
    }

    /// One level deeper; callers restore `depth` on return (`let base = depth; defer { depth = base }`).
    mutating func nest() throws {
        depth += 1
        if depth > maxDepth { throw fail("template nesting is deeper than \(maxDepth) levels") }
    }

    var current: Token { tokens[i] }
    var pos: SourcePos { SourcePos(line: current.line, column: current.column) }

    func fail(_ message: String, at token: Token? = nil) -> TemplateError {
        let t = token ?? current
        return TemplateError(template: name, kind: .syntax(message: message, line: t.line, column: t.column))
    }

    mutating func advance() { if i < tokens.count - 1 { i += 1 } }

    func isName(_ n: String) -> Bool { current.kind == .name(n) }
    func isOp(_ o: String) -> Bool { current.kind == .op(o) }

    mutating func skipName(_ n: String) -> Bool {
        if isName(n) { advance(); return true }
        return false
    }
    mutating func skipOp(_ o: String) -> Bool {
        if isOp(o) { advance(); return true }
        return false
    }
    mutating func expectOp(_ o: String) throws {
        guard skipOp(o) else { throw fail("expected '\(o)', got \(describe(current))") }
    }
    mutating func expectName(_ n: String) throws {
        guard skipName(n) else { throw fail("expected '\(n)', got \(describe(current))") }
    }
    mutating func identifier() throws -> String {
        guard case .name(let n) = current.kind else { throw fail("expected a name, got \(describe(current))") }
        advance()
        return n
    }
    mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else { throw fail("expected end of statement block, got \(describe(current))") }
        advance()
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .text: return "template data"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string \(PythonFormat.stringRepr(s))"
        case .integer(let v): return "integer \(v)"
        case .float(let v): return "float \(v)"
        case .op(let o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }

    /// Parses the whole template.
    mutating func parseTemplate() throws -> [Node] {
        let (body, end) = try parseBody(until: [])
        if let end { throw fail("unexpected '\(end)'") }
        return body
    }

    /// Parses nodes until a block tag whose keyword is in `terminators` (returned, the parser left just
    /// after the keyword) or the end of input (nil).
    mutating func parseBody(until terminators: [String]) throws -> ([Node], String?) {
        let base = depth
        defer { depth = base }
        try nest()
        endStack.append(terminators)
        defer { endStack.removeLast() }
        var nodes: [Node] = []
        while true {
            let tok = current
            switch tok.kind {
            case .eof:
                if !terminators.isEmpty { throw fail(unexpectedTagMessage(nil)) }
                return (nodes, nil)
            case .text(let s):
                nodes.append(.text(s)); advance()
            case .variableBegin:
                advance()
                let e = try parseTuple()
                guard current.kind == .variableEnd else { throw fail("expected end of print statement, got \(describe(current))") }
                advance()
                nodes.append(.output(e))
            case .blockBegin:
                advance()
                guard case .name(let keyword) = current.kind else { throw fail("expected a statement name, got \(describe(current))") }
                if terminators.contains(keyword) { advance(); return (nodes, keyword) }
                nodes.append(try parseStatement())
            default:
                throw fail("unexpected \(describe(tok))")
            }
        }
    }

    mutating func parseStatement() throws -> Node {
        let keywordToken = current
        let keyword = try identifier()
        let isBlock = ["if", "for", "macro", "call", "filter", "with", "generation", "set"].contains(keyword)
        if isBlock { tagStack.append(keyword) }
        defer { if isBlock { tagStack.removeLast() } }
        switch keyword {
        case "if": return try parseIf()
        case "for": return try parseFor(at: keywordToken)
        case "set": return try parseSet(at: keywordToken)
        case "macro": return try parseMacro()
        case "call": return try parseCallBlock(at: keywordToken)
        case "filter":
            let filters = try parseFilterChain()
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endfilter"])
            try expectBlockEnd()
            return .filterBlock(filters: filters, body: body)
        case "with":
            var assignments: [(Target, Expr)] = []
            while current.kind != .blockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget()
                try expectOp("=")
                assignments.append((target, try parseExpression()))
            }
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endwith"])
            try expectBlockEnd()
            return .with(assignments, body)
        case "generation":
            // transformers' AssistantTracker extension: renders its body unchanged.
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expectBlockEnd()
            return .with([], body)
        case "break": try expectBlockEnd(); return .breakLoop
        case "continue": try expectBlockEnd(); return .continueLoop
        default:
            throw fail(unexpectedTagMessage(keyword), at: keywordToken)
        }
    }

    /// jinja2's `_fail_ut_eof` wording for an unknown tag (`name`) or a premature end (nil).
    func unexpectedTagMessage(_ name: String?) -> String {
        var message = [name.map { "Encountered unknown tag '\($0)'." } ?? "Unexpected end of template."]
        if let looking = endStack.last, !looking.isEmpty {
            let list = looking.map { "'\($0)'" }.joined(separator: " or ")
            if let name, endStack.contains(where: { $0.contains(name) }) {
                message.append("You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for \(list).")
            } else {
                message.append("Jinja was looking for the following tags: \(list).")
            }
        }
        if let open = tagStack.last { message.append("The innermost block that needs to be closed is '\(open)'.") }
        return message.joined(separator: " ")
    }

    mutating func parseIf() throws -> Node {
        var branches: [(Expr, [Node])] = []
        var cond = try parseTuple(withCondExpr: true)
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((cond, body))
            switch end {
            case "elif":
                cond = try parseTuple(withCondExpr: true)
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"])
                try expectBlockEnd()
                return .ifChain(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .ifChain(branches, otherwise: [])
            }
        }
    }

    mutating func parseFor(at token: Token) throws -> Node {
        let target = try parseAssignTarget(extraEnd: "in")
        try expectName("in")
        let iter = try parseTuple(withCondExpr: false, extraEnd: ["recursive"])
        var filter: Expr? = nil
        if skipName("if") { filter = try parseExpression() }
        let recursive = skipName("recursive")
        try expectBlockEnd()
        let (body, end) = try parseBody(until: ["endfor", "else"])
        var otherwise: [Node] = []
        if end == "else" {
            try expectBlockEnd()
            (otherwise, _) = try parseBody(until: ["endfor"])
        }
        try expectBlockEnd()
        return .forLoop(target: target, iter: iter, filter: filter, body: body, otherwise: otherwise,
                        recursive: recursive, SourcePos(line: token.line, column: token.column))
    }

    mutating func parseSet(at token: Token) throws -> Node {
        let p = SourcePos(line: token.line, column: token.column)
        let target = try parseAssignTarget()
        if skipOp("=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return .set(target, value, p)
        }
        let filters = try parseFilterChain()
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endset"])
        try expectBlockEnd()
        return .setBlock(target, body, filters: filters, p)
    }

    /// `| f(args) | g …` after `{% filter` / `{% set x`.
    mutating func parseFilterChain() throws -> [(String, [Expr], [(String, Expr)], SourcePos)] {
        var filters: [(String, [Expr], [(String, Expr)], SourcePos)] = []
        var first = true
        while first || isOp("|") {
            if !first { advance() }
            if first && current.kind == .blockEnd { break }
            first = false
            let p = pos
            var fname = try identifier()
            while isOp(".") { advance(); fname += "." + (try identifier()) }
            var args: [Expr] = [], kwargs: [(String, Expr)] = []
            if isOp("(") { (args, kwargs) = try parseCallArgs() }
            filters.append((fname, args, kwargs, p))
        }
        return filters
    }

    mutating func parseSignature() throws -> [(String, Expr?)] {
        var params: [(String, Expr?)] = []
        try expectOp("(")
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            let n = try identifier()
            params.append((n, skipOp("=") ? try parseExpression() : nil))
        }
        try expectOp(")")
        return params
    }

    mutating func parseMacro() throws -> Node {
        let macroName = try identifier()
        let params = try parseSignature()
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endmacro"])
        if case .name = current.kind { advance() }  // optional `{% endmacro name %}`
        try expectBlockEnd()
        return .macro(name: macroName, params: params, body: body)
    }

    mutating func parseCallBlock(at token: Token) throws -> Node {
        let params = isOp("(") ? try parseSignature() : []
        let callExpr = try parseExpression()
        guard case .call = callExpr else { throw fail("expected call", at: token) }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endcall"])
        try expectBlockEnd()
        return .callBlock(call: callExpr, params: params, body: body, SourcePos(line: token.line, column: token.column))
    }

    /// `name`, `ns.attr`, or a comma-separated tuple of names.
    mutating func parseAssignTarget(extraEnd: String? = nil) throws -> Target {
        func single(_ p: inout Parser) throws -> Target {
            if p.skipOp("(") {
                let t = try p.parseAssignTarget(extraEnd: extraEnd)
                try p.expectOp(")")
                return t
            }
            let n = try p.identifier()
            if p.skipOp(".") { return .attribute(n, try p.identifier()) }
            return .name(n)
        }
        var items = [try single(&self)]
        var isTuple = false
        while isOp(",") {
            advance()
            isTuple = true
            if current.kind == .blockEnd || isOp("=") || isOp(")") || (extraEnd.map(isName) ?? false) { break }
            items.append(try single(&self))
        }
        return isTuple ? .tuple(items) : items[0]
    }
}
