import Foundation

/// Compile-time checks jinja2 also makes: every filter and test used must exist, reported with its
/// line:column. Like jinja2 ≥ 3.0, uses inside an `if` statement or inline `if` expression ("soft
/// frames", up to the next for/macro/block body) are only reported when evaluated.
struct Validator {
    let template: String

    func check(_ nodes: [Node], soft: Bool = false) throws {
        for n in nodes { try check(n, soft: soft) }
    }

    func checkFilter(_ name: String, _ p: SourcePos, soft: Bool = false) throws {
        guard soft || Filters.names.contains(name) else {
            throw TemplateError(template: template, kind: .unknownFilter(name: name, line: p.line, column: p.column))
        }
    }

    func check(_ node: Node, soft: Bool) throws {
        switch node {
        case .text, .breakLoop, .continueLoop: break
        case .output(let e): try check(e, soft: soft)
        case .ifChain(let branches, let otherwise):
            for (c, body) in branches { try check(c, soft: true); try check(body, soft: true) }
            try check(otherwise, soft: true)
        case .forLoop(_, let iter, let filter, let body, let otherwise, _, _):
            try check(iter, soft: soft)
            if let filter { try check(filter) }
            try check(body); try check(otherwise)
        case .set(_, let e, _): try check(e, soft: soft)
        case .setBlock(_, let body, let filters, _):
            try check(body)
            for (n, a, kw, p) in filters { try checkFilter(n, p); try a.forEach { try check($0) }; try kw.forEach { try check($0.1) } }
        case .macro(_, let params, let body), .callBlock(_, let params, let body, _):
            for case (_, let d?) in params { try check(d) }
            try check(body)
            if case .callBlock(let c, _, _, _) = node { try check(c, soft: soft) }
        case .filterBlock(let filters, let body):
            for (n, a, kw, p) in filters { try checkFilter(n, p); try a.forEach { try check($0) }; try kw.forEach { try check($0.1) } }
            try check(body)
        case .with(let assignments, let body):
            for (_, e) in assignments { try check(e, soft: soft) }
            try check(body)
        }
    }

    func check(_ expr: Expr, soft: Bool = false) throws {
        let check = { (e: Expr) throws in try self.check(e, soft: soft) }
        switch expr {
        case .literal, .name: break
        case .list(let items, _), .tuple(let items, _), .concat(let items, _): try items.forEach(check)
        case .dict(let pairs, _): for (k, v) in pairs { try check(k); try check(v) }
        case .getAttr(let o, _, _): try check(o)
        case .getItem(let o, let k, _): try check(o); try check(k)
        case .slice(let o, let a, let b, let c, _):
            try check(o)
            for case let e? in [a, b, c] { try check(e) }
        case .call(let f, let args, let kwargs, _):
            try check(f); try args.forEach(check); try kwargs.forEach { try check($0.1) }
        case .filter(let base, let name, let args, let kwargs, let p):
            try check(base)
            try checkFilter(name, p, soft: soft)
            try args.forEach(check); try kwargs.forEach { try check($0.1) }
        case .test(let base, let name, let args, _, let p):
            try check(base)
            guard soft || Tests.table[name] != nil else {
                throw TemplateError(template: template, kind: .unknownTest(name: name, line: p.line, column: p.column))
            }
            try args.forEach(check)
        case .unary(_, let e, _): try check(e)
        case .binary(_, let a, let b, _), .logical(_, let a, let b, _): try check(a); try check(b)
        case .compare(let first, let ops, _): try check(first); for (_, e) in ops { try check(e) }
        case .conditional(let c, let t, let o, _):
            try self.check(c, soft: true); try self.check(t, soft: true)
            if let o { try self.check(o, soft: true) }
        }
    }
}
