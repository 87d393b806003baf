import Foundation

/// Expression grammar, with jinja2's precedence (low → high):
/// conditional, or, and, not, comparisons/in, `+ -`, `~`, `* / // %`, `**`, unary `- +`,
/// then primary with postfix (`.a`, `[i]`, calls) and filters/tests (`|f`, `is t`).
extension Parser {
    mutating func parseTuple(withCondExpr: Bool = true, extraEnd: Set<String> = [],
                             explicitParentheses: Bool = false) throws -> Expr {
        let p = pos
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if current.kind == .variableEnd || current.kind == .blockEnd || isOp(")") { break }
            if case .name(let n) = current.kind, extraEnd.contains(n) { break }
            items.append(withCondExpr ? try parseExpression() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let first = items.first { return first }
            if !explicitParentheses { throw fail("Expected an expression, got \(describe(current))") }
        }
        return .tuple(items, p)
    }

    mutating func parseExpression() throws -> Expr {
        let base = depth
        defer { depth = base }
        try nest()
        var expr = try parseOr()
        while true {
            let p = pos
            guard skipName("if") else { break }
            try nest()
            let cond = try parseOr()
            let otherwise: Expr? = skipName("else") ? try parseExpression() : nil
            expr = .conditional(cond: cond, then: expr, otherwise: otherwise, p)
        }
        return expr
    }

    mutating func parseOr() throws -> Expr {
        let base = depth
        defer { depth = base }
        var left = try parseAnd()
        while true {
            let p = pos
            guard skipName("or") else { return left }
            try nest()
            left = .logical("or", left, try parseAnd(), p)
        }
    }

    mutating func parseAnd() throws -> Expr {
        let base = depth
        defer { depth = base }
        var left = try parseNot()
        while true {
            let p = pos
            guard skipName("and") else { return left }
            try nest()
            left = .logical("and", left, try parseNot(), p)
        }
    }

    mutating func parseNot() throws -> Expr {
        let base = depth
        defer { depth = base }
        let p = pos
        if skipName("not") { try nest(); return .unary("not", try parseNot(), p) }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> Expr {
        let p = pos
        let left = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if case .op(let o) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                advance()
                ops.append((o, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not"), i + 1 < tokens.count, tokens[i + 1].kind == .name("in") {
                advance(); advance()
                ops.append(("not in", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? left : .compare(left, ops, p)
    }

    mutating func parseMath1() throws -> Expr {
        let base = depth
        defer { depth = base }
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let p = pos
            advance()
            try nest()
            left = .binary(o, left, try parseConcat(), p)
        }
        return left
    }

    mutating func parseConcat() throws -> Expr {
        let p = pos
        var items = [try parseMath2()]
        while skipOp("~") { items.append(try parseMath2()) }
        return items.count == 1 ? items[0] : .concat(items, p)
    }

    mutating func parseMath2() throws -> Expr {
        let base = depth
        defer { depth = base }
        var left = try parsePow()
        while case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) {
            let p = pos
            advance()
            try nest()
            left = .binary(o, left, try parsePow(), p)
        }
        return left
    }

    mutating func parsePow() throws -> Expr {
        let base = depth
        defer { depth = base }
        var left = try parseUnary()
        while isOp("**") {
            let p = pos
            try nest()
            advance()
            left = .binary("**", left, try parseUnary(), p)
        }
        return left
    }

    mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        let base = depth
        defer { depth = base }
        try nest()
        let p = pos
        var node: Expr
        if skipOp("-") {
            node = .unary("-", try parseUnary(withFilter: false), p)
        } else if skipOp("+") {
            node = .unary("+", try parseUnary(withFilter: false), p)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    mutating func parsePrimary() throws -> Expr {
        let p = pos
        switch current.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return .literal(.bool(true), p)
            case "false", "False": return .literal(.bool(false), p)
            case "none", "None": return .literal(.none, p)
            default: return .name(n, p)
            }
        case .string(var s):
            advance()
            while case .string(let more) = current.kind { s += more; advance() }
            return .literal(.string(s), p)
        case .integer(let v): advance(); return .literal(.int(v), p)
        case .float(let v): advance(); return .literal(.double(v), p)
        case .op("("):
            advance()
            let e = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return e
        case .op("["):
            advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items, p)
        case .op("{"):
            advance()
            var pairs: [(Expr, Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs, p)
        default:
            throw fail("unexpected \(describe(current))")
        }
    }

    mutating func parsePostfix(_ start: Expr) throws -> Expr {
        let base = depth
        defer { depth = base }
        var node = start
        while true {
            let p = pos
            if isOp(".") || isOp("[") || isOp("(") { try nest() }
            if skipOp(".") {
                switch current.kind {
                case .name(let n): advance(); node = .getAttr(node, n, p)
                case .integer(let v): advance(); node = .getItem(node, .literal(.int(v), p), p)
                default: throw fail("expected name or number after '.'")
                }
            } else if skipOp("[") {
                var args: [Expr] = []
                while !isOp("]") {
                    if !args.isEmpty { try expectOp(",") }
                    args.append(try parseSubscribed())
                }
                try expectOp("]")
                if args.count == 1, case .slice(_, let a, let b, let c, let sp) = args[0] {
                    node = .slice(node, a, b, c, sp)
                } else {
                    node = .getItem(node, args.count == 1 ? args[0] : .tuple(args, p), p)
                }
            } else if isOp("(") {
                let (args, kwargs) = try parseCallArgs()
                node = .call(node, args, kwargs, p)
            } else {
                return node
            }
        }
    }

    /// One subscript: an expression or a slice `a:b:c` (encoded as `.slice` with a placeholder base).
    mutating func parseSubscribed() throws -> Expr {
        let p = pos
        var parts: [Expr?] = []
        if skipOp(":") {
            parts = [nil]
        } else {
            let e = try parseExpression()
            guard skipOp(":") else { return e }
            parts = [e]
        }
        if isOp(":") || isOp("]") || isOp(",") { parts.append(nil) } else { parts.append(try parseExpression()) }
        if skipOp(":") {
            if isOp("]") || isOp(",") { parts.append(nil) } else { parts.append(try parseExpression()) }
        } else {
            parts.append(nil)
        }
        return .slice(.literal(.none, p), parts[0], parts[1], parts[2], p)
    }

    mutating func parseCallArgs() throws -> ([Expr], [(String, Expr)]) {
        try expectOp("(")
        var args: [Expr] = [], kwargs: [(String, Expr)] = []
        var first = true
        while !isOp(")") {
            if !first { try expectOp(","); if isOp(")") { break } }
            first = false
            if case .name(let n) = current.kind, i + 1 < tokens.count, tokens[i + 1].kind == .op("=") {
                advance(); advance()
                kwargs.append((n, try parseExpression()))
            } else {
                if isOp("*") || isOp("**") { throw fail("*args / **kwargs in calls are not supported") }
                if !kwargs.isEmpty { throw fail("positional argument follows keyword argument") }
                args.append(try parseExpression())
            }
        }
        try expectOp(")")
        return (args, kwargs)
    }

    mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        let base = depth
        defer { depth = base }
        var node = start
        while true {
            let p = pos
            if isOp("|") || isName("is") { try nest() }
            if skipOp("|") {
                var fname = try identifier()
                while isOp("."), i + 1 < tokens.count, case .name(let more) = tokens[i + 1].kind {
                    advance(); advance(); fname += "." + more
                }
                var args: [Expr] = [], kwargs: [(String, Expr)] = []
                if isOp("(") { (args, kwargs) = try parseCallArgs() }
                node = .filter(node, fname, args, kwargs, p)
            } else if skipName("is") {
                let negated = skipName("not")
                let tname = try identifier()
                var args: [Expr] = []
                if isOp("(") {
                    let (a, kw) = try parseCallArgs()
                    args = a + kw.map(\.1)
                } else if !["else", "or", "and", "if"].contains(where: isName) {
                    switch current.kind {
                    case .name, .string, .integer, .float, .op("["), .op("{"):
                        args = [try parsePostfix(try parsePrimary())]
                    default: break
                    }
                }
                node = .test(node, tname, args, negated: negated, p)
            } else if isOp("(") {
                let (args, kwargs) = try parseCallArgs()
                node = .call(node, args, kwargs, p)
            } else {
                return node
            }
        }
    }
}
