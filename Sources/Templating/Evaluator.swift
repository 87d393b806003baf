import Foundation

/// Expression evaluation with Python / jinja2 semantics.
extension Interpreter {
    /// Evaluates `expr`, refusing to nest deeper than `maxEvaluationDepth` or than the thread's stack holds
    /// (macro recursion stacks up the nesting of each macro body, so the parser's limit alone does not bound
    /// the stack).
    func eval(_ expr: Expr, _ scope: Scope) throws -> Value {
        evalDepth += 1
        defer { evalDepth -= 1 }
        guard evalDepth <= budget.limits.maxEvaluationDepth, hasStackRoom() else {
            throw runtimeError(depthMessage, expr.pos)
        }
        let value = try evaluate(expr, scope)
        // Every string or list a step builds stays within the output limit, so no later step can multiply
        // a huge one (sizes that multiply are checked before allocating, where they are built).
        try positioned(expr.pos) { try budget.checkSize(value, "the value of this expression") }
        return value
    }

    private func evaluate(_ expr: Expr, _ scope: Scope) throws -> Value {
        switch expr {
        case .literal(let v, _):
            return v
        case .name(let n, _):
            return scope.lookup(n) ?? Builtins.global(n) ?? .undefined(hint: "'\(n)' is undefined")
        case .list(let items, _):
            return .list(try items.map { try eval($0, scope) })
        case .tuple(let items, _):
            return .tuple(try items.map { try eval($0, scope) })
        case .dict(let pairs, let p):
            let d = DictBox()
            for (k, v) in pairs {
                let key = try eval(k, scope)
                d[try positioned(p) { try dictKey(key) }] = try eval(v, scope)
            }
            return .dict(d)
        case .getAttr(let obj, let name, let p):
            let o = try eval(obj, scope)
            return try positioned(p) { try getAttribute(o, name) }
        case .getItem(let obj, let key, let p):
            let o = try eval(obj, scope)
            let k = try eval(key, scope)
            return try positioned(p) { try getItem(o, k) }
        case .slice(let obj, let a, let b, let c, let p):
            let o = try eval(obj, scope)
            let start = try a.map { try eval($0, scope) }
            let stop = try b.map { try eval($0, scope) }
            let step = try c.map { try eval($0, scope) }
            return try positioned(p) { try slice(o, start, stop, step) }
        case .call(let callee, let args, let kwargs, let p):
            let f = try eval(callee, scope)
            let a = try args.map { try eval($0, scope) }
            let kw = try kwargs.map { ($0.0, try eval($0.1, scope)) }
            return try positioned(p) { try call(f, a, kw) }
        case .filter(let base, let name, let args, let kwargs, let p):
            return try applyFilter(name, try eval(base, scope), args, kwargs, scope, p)
        case .test(let base, let name, let args, let negated, let p):
            let v = try eval(base, scope)
            let a = try args.map { try eval($0, scope) }
            let result = try positioned(p) { () throws -> Bool in
                guard let t = Tests.table[name] else {
                    throw TemplateError(template: templateName, kind: .unknownTest(name: name, line: p.line, column: p.column))
                }
                return try t(v, a)
            }
            return .bool(result != negated)
        case .unary(let op, let operand, let p):
            let v = try eval(operand, scope)
            return try positioned(p) { try unary(op, v) }
        case .binary(let op, let l, let r, let p):
            let a = try eval(l, scope)
            let b = try eval(r, scope)
            return try positioned(p) { try Arithmetic.binary(op, a, b, budget: budget) }
        case .logical(let op, let l, let r, _):
            let a = try eval(l, scope)
            if op == "and" { return a.truthy ? try eval(r, scope) : a }
            return a.truthy ? a : try eval(r, scope)
        case .compare(let first, let ops, let p):
            var left = try eval(first, scope)
            for (op, rexpr) in ops {
                let right = try eval(rexpr, scope)
                let ok = try positioned(p) { try Arithmetic.compare(op, left, right) }
                if !ok { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let items, _):
            return .string(try positioned(expr.pos) { try budget.joined(try items.map { try eval($0, scope).str }, separator: "") })
        case .conditional(let cond, let then, let otherwise, _):
            if try eval(cond, scope).truthy { return try eval(then, scope) }
            return try otherwise.map { try eval($0, scope) } ?? .undefined(hint: "the inline if-expression evaluated to false and no else section was defined.")
        }
    }

    func dictKey(_ key: Value) throws -> String {
        switch key {
        case .string(let s): return s
        case .int, .bool, .double, .none: return key.repr
        default: throw RuntimeFailure("unhashable type: '\(key.typeName)'")
        }
    }

    func unary(_ op: String, _ v: Value) throws -> Value {
        switch op {
        case "not": return .bool(!v.truthy)
        case "-":
            if let i = v.asInt { return BigIntegers.negate(String(i)) }  // -Int.min does not fit in Int
            if case .bigInt(let digits) = v { return BigIntegers.negate(digits) }
            if case .double(let d) = v { return .double(-d) }
            if case .undefined(let hint) = v { throw RuntimeFailure(hint) }
            throw RuntimeFailure("bad operand type for unary -: '\(v.typeName)'")
        default:
            if let i = v.asInt { return .int(i) }
            if case .double = v { return v }
            if case .bigInt = v { return v }
            if case .undefined(let hint) = v { throw RuntimeFailure(hint) }
            throw RuntimeFailure("bad operand type for unary +: '\(v.typeName)'")
        }
    }

    /// jinja2 `getattr`: Python attribute (methods) first, then item lookup.
    func getAttribute(_ v: Value, _ name: String) throws -> Value {
        switch v {
        case .undefined(let hint):
            throw RuntimeFailure(hint)
        case .dict(let d):
            if Methods.dictMethods.contains(name) { return .method(v, name) }
            return d[name] ?? .undefined(hint: "'dict object' has no attribute '\(name)'")
        case .namespace(let d):
            return d[name] ?? .undefined(hint: "'Namespace object' has no attribute '\(name)'")
        case .string:
            if Methods.stringMethods.contains(name) { return .method(v, name) }
        case .list:
            if Methods.listMethods.contains(name) { return .method(v, name) }
        case .tuple:
            if name == "count" || name == "index" { return .method(v, name) }
        case .loop(let loop):
            return loopAttribute(loop, name)
        case .macro(let m):
            if name == "name" { return .string(m.name) }
        default:
            break
        }
        return .undefined(hint: "'\(v.typeName) object' has no attribute '\(name)'")
    }

    func loopAttribute(_ loop: LoopBox, _ name: String) -> Value {
        let n = loop.items.count, i = loop.index0
        switch name {
        case "index": return .int(i + 1)
        case "index0": return .int(i)
        case "revindex": return .int(n - i)
        case "revindex0": return .int(n - i - 1)
        case "first": return .bool(i == 0)
        case "last": return .bool(i == n - 1)
        case "length": return .int(n)
        case "depth": return .int(loop.depth)
        case "depth0": return .int(loop.depth - 1)
        case "previtem": return i > 0 ? loop.items[i - 1] : .undefined(hint: "there is no previous item")
        case "nextitem": return i + 1 < n ? loop.items[i + 1] : .undefined(hint: "there is no next item")
        case "cycle": return .method(.loop(loop), "cycle")
        default: return .undefined(hint: "'LoopContext object' has no attribute '\(name)'")
        }
    }

    /// jinja2 `getitem`: item lookup first, then attribute for string keys.
    func getItem(_ v: Value, _ key: Value) throws -> Value {
        switch v {
        case .undefined(let hint):
            throw RuntimeFailure(hint)
        case .dict(let d):
            if let k = try? dictKey(key), let found = d[k] { return found }
        case .namespace(let d):
            if case .string(let k) = key, let found = d[k] { return found }
        case .list, .tuple, .string:
            if let i = key.asInt {
                let items = try v.iterate()
                let j = i < 0 ? i + items.count : i
                if items.indices.contains(j) { return items[j] }
                return .undefined(hint: "\(v.typeName) index out of range")
            }
        default:
            break
        }
        if case .string(let name) = key { return try getAttribute(v, name) }
        return .undefined(hint: "'\(v.typeName) object' has no attribute \(key.repr)")
    }

    /// Python slicing `v[start:stop:step]` on lists, tuples and strings (by code point).
    func slice(_ v: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
        if case .undefined(let hint) = v { throw RuntimeFailure(hint) }
        func bound(_ x: Value?) throws -> Int? {
            guard let x, !x.isNone else { return nil }
            guard let i = x.asInt else { throw RuntimeFailure("slice indices must be integers or None") }
            return i
        }
        let st = try bound(step) ?? 1
        guard st != 0 else { throw RuntimeFailure("slice step cannot be zero") }
        let items: [Value]
        switch v {
        case .list, .tuple, .string: items = try v.iterate()
        default: throw RuntimeFailure("'\(v.typeName)' object is not subscriptable")
        }
        let n = items.count
        func adjust(_ i: Int?, _ defaultValue: Int) -> Int {
            guard var i else { return defaultValue }
            if i < 0 { i += n; if i < 0 { i = st < 0 ? -1 : 0 } } else if i >= n { i = st < 0 ? n - 1 : n }
            return i
        }
        var a = adjust(try bound(start), st < 0 ? n - 1 : 0)
        let b = adjust(try bound(stop), st < 0 ? -1 : n)
        var picked: [Value] = []
        while st > 0 ? a < b : a > b {
            picked.append(items[a])
            let (next, overflow) = a.addingReportingOverflow(st)
            if overflow { break }  // a step like Int.max jumps past either end
            a = next
        }
        switch v {
        case .string: return .string(picked.map(\.str).joined())
        case .tuple: return .tuple(picked)
        default: return .list(picked)
        }
    }
}
