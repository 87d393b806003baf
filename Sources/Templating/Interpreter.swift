import Foundation

/// A variable frame. `for` bodies (per iteration), macro calls and `with` blocks get a child frame, so
/// `set` inside them does not leak out (jinja2 scoping); `if` bodies share their parent's frame.
final class Scope {
    var vars: [String: Value] = [:]
    let parent: Scope?
    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let cur = s {
            if let v = cur.vars[name] { return v }
            s = cur.parent
        }
        return nil
    }
}

/// Tree-walking evaluator for parsed templates.
final class Interpreter {
    enum Flow { case normal, breakLoop, continueLoop }

    let templateName: String
    let budget: RenderBudget
    var callDepth = 0
    /// Statements and expressions being evaluated right now (macro recursion included): bounds the stack.
    var evalDepth = 0
    /// The thread's stack, measured when a render first nests past `StackGuard.checkedDepth`.
    lazy var stack = StackGuard()

    init(templateName: String, limits: TemplateLimits = .default) {
        self.templateName = templateName
        self.budget = RenderBudget(limits)
    }

    func runtimeError(_ message: String, _ p: SourcePos) -> TemplateError {
        TemplateError(template: templateName, kind: .runtime(message: message, line: p.line, column: p.column))
    }

    /// Converts position-less failures from helpers into positioned `TemplateError`s.
    func positioned<T>(_ p: SourcePos, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let f as RuntimeFailure {
            throw runtimeError(f.message, p)
        } catch let r as RaisedFailure {
            throw TemplateError(template: templateName, kind: .raised(message: r.message, line: p.line, column: p.column))
        }
    }

    // MARK: Statements

    func render(_ nodes: [Node], _ scope: Scope, _ out: inout String) throws -> Flow {
        for node in nodes {
            let flow = try render(node, scope, &out)
            if flow != .normal { return flow }
        }
        return .normal
    }

    func render(_ node: Node, _ scope: Scope, _ out: inout String) throws -> Flow {
        // Statements count towards the evaluation depth too: a macro body of 250 nested blocks recursing
        // 200 times would otherwise stack 50,000 frames.
        evalDepth += 1
        defer { evalDepth -= 1 }
        guard evalDepth <= budget.limits.maxEvaluationDepth, hasStackRoom() else {
            throw TemplateError(template: templateName, kind: .limit(message: depthMessage))
        }
        switch node {
        case .text(let s):
            try append(s, to: &out)
        case .output(let e):
            try append(try eval(e, scope).str, to: &out)
        case .ifChain(let branches, let otherwise):
            for (cond, body) in branches where try eval(cond, scope).truthy {
                return try render(body, scope, &out)
            }
            return try render(otherwise, scope, &out)
        case .forLoop(let target, let iterExpr, let filter, let body, let otherwise, let recursive, let p):
            if recursive { throw runtimeError("recursive loops are not supported", p) }
            let iterValue = try eval(iterExpr, scope)
            var items = try positioned(p) { try iterValue.iterate() }
            if let filter {
                items = try items.filter { item in
                    try positioned(p) { try budget.countLoopIteration() }
                    let s = Scope(parent: scope)
                    try positioned(p) { try assign(target, item, s) }
                    return try eval(filter, s).truthy
                }
            }
            if items.isEmpty { return try render(otherwise, scope, &out) }
            // loop.depth counts recursive-loop levels only; nested plain loops are all depth 1.
            let loop = LoopBox(items: items, depth: 1)
            for (index, item) in items.enumerated() {
                try positioned(p) { try budget.countLoopIteration() }
                loop.index0 = index
                let s = Scope(parent: scope)
                try positioned(p) { try assign(target, item, s) }
                s.vars["loop"] = .loop(loop)
                if try render(body, s, &out) == .breakLoop { break }
            }
        case .set(let target, let expr, let p):
            let v = try eval(expr, scope)
            try positioned(p) { try assign(target, v, scope) }
        case .setBlock(let target, let body, let filters, let p):
            var text = ""
            _ = try render(body, Scope(parent: scope), &text)
            var v = Value.string(text)
            for (name, args, kwargs, fp) in filters { v = try applyFilter(name, v, args, kwargs, scope, fp) }
            try positioned(p) { try assign(target, v, scope) }
        case .macro(let name, let params, let body):
            scope.vars[name] = .macro(MacroBox(name: name, params: params, body: body, closure: scope))
        case .callBlock(let callExpr, let params, let body, let p):
            guard case .call(let callee, let args, let kwargs, _) = callExpr else { return .normal }
            let caller = Value.macro(MacroBox(name: "caller", params: params, body: body, closure: scope))
            let f = try eval(callee, scope)
            let a = try args.map { try eval($0, scope) }
            let kw = try kwargs.map { ($0.0, try eval($0.1, scope)) } + [("caller", caller)]
            try append(try positioned(p) { try call(f, a, kw) }.str, to: &out)
        case .filterBlock(let filters, let body):
            var text = ""
            _ = try render(body, scope, &text)
            var v = Value.string(text)
            for (name, args, kwargs, fp) in filters { v = try applyFilter(name, v, args, kwargs, scope, fp) }
            try append(v.str, to: &out)
        case .with(let assignments, let body):
            let s = Scope(parent: scope)
            for (target, expr) in assignments {
                let v = try eval(expr, scope)
                try assign(target, v, s)
            }
            return try render(body, s, &out)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    /// Whether one more level fits the thread's stack (see `StackGuard`; not measured below `checkedDepth`).
    func hasStackRoom() -> Bool {
        evalDepth <= StackGuard.checkedDepth || stack.hasRoom()
    }

    /// The error for a level past `maxEvaluationDepth`, or past what the thread's stack holds.
    var depthMessage: String {
        evalDepth > budget.limits.maxEvaluationDepth
            ? "template evaluation nests deeper than \(budget.limits.maxEvaluationDepth) levels"
            : "template evaluation nests too deeply for this thread's stack (\(evalDepth) levels)"
    }

    /// `out += text`, refused past the output limit (a loop printing a long string must end in an error,
    /// not exhaust memory).
    func append(_ text: String, to out: inout String) throws {
        let size = out.utf8.count + text.utf8.count
        if size > budget.limits.maxOutputBytes {
            throw TemplateError(template: templateName, kind: .limit(
                message: "template output would be larger than the limit of \(budget.limits.maxOutputBytes) bytes"))
        }
        out += text
    }

    func assign(_ target: Target, _ value: Value, _ scope: Scope) throws {
        switch target {
        case .name(let n):
            scope.vars[n] = value
        case .attribute(let n, let attr):
            guard let obj = scope.lookup(n), case .namespace(let ns) = obj else {
                throw RuntimeFailure("cannot assign attribute on non-namespace object")
            }
            ns[attr] = value
        case .tuple(let targets):
            let items = try value.iterate()
            guard items.count == targets.count else {
                throw RuntimeFailure(items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope) }
        }
    }

    // MARK: Calls

    func call(_ f: Value, _ args: [Value], _ kwargs: [(String, Value)]) throws -> Value {
        switch f {
        case .macro(let m): return try callMacro(m, args, kwargs)
        case .builtin(let b): return try b.call(args, kwargs, self)
        case .method(let obj, let name): return try callMethod(obj, name, args, kwargs)
        case .undefined(let hint): throw RuntimeFailure(hint)
        default: throw RuntimeFailure("'\(f.typeName)' object is not callable")
        }
    }

    func callMacro(_ m: MacroBox, _ args: [Value], _ kwargs: [(String, Value)]) throws -> Value {
        guard callDepth < budget.limits.maxMacroDepth else {
            throw RuntimeFailure("maximum macro recursion depth (\(budget.limits.maxMacroDepth)) exceeded in macro '\(m.name)'")
        }
        try budget.countMacroCall()
        callDepth += 1
        defer { callDepth -= 1 }
        let s = Scope(parent: m.closure)
        var extraKwargs: [(String, Value)] = []
        for (name, v) in kwargs {
            if m.params.contains(where: { $0.0 == name }) || name == "caller" { s.vars[name] = v } else { extraKwargs.append((name, v)) }
        }
        for (i, (name, defaultExpr)) in m.params.enumerated() {
            if i < args.count {
                if s.vars[name] != nil { throw RuntimeFailure("macro '\(m.name)' got multiple values for argument '\(name)'") }
                s.vars[name] = args[i]
            } else if s.vars[name] == nil {
                s.vars[name] = try defaultExpr.map { try eval($0, s) } ?? .undefined(hint: "parameter '\(name)' was not provided")
            }
        }
        s.vars["varargs"] = .tuple(args.count > m.params.count ? Array(args[m.params.count...]) : [])
        s.vars["kwargs"] = .dict(DictBox(extraKwargs))
        var out = ""
        _ = try render(m.body, s, &out)
        return .string(out)
    }
}
