import Foundation

/// Python binary operators and comparisons.
enum Arithmetic {
    static func unsupported(_ op: String, _ a: Value, _ b: Value) -> RuntimeFailure {
        RuntimeFailure("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    /// `a op b`; strings and lists it builds are checked against `budget` before they are allocated.
    static func binary(_ op: String, _ a: Value, _ b: Value, budget: RenderBudget) throws -> Value {
        if case .undefined(let hint) = a { throw RuntimeFailure(hint) }
        if case .undefined(let hint) = b { throw RuntimeFailure(hint) }
        let expression = { "\(a.typeName) \(op) \(b.typeName)" }
        switch op {
        case "+":
            switch (a, b) {
            case let (.string(x), .string(y)):
                try budget.checkSize(x.utf8.count + y.utf8.count, expression())
                return .string(x + y)
            case let (.list(x), .list(y)):
                try budget.checkSize(x.items.count + y.items.count, expression())
                return .list(x.items + y.items)
            case let (.tuple(x), .tuple(y)):
                try budget.checkSize(x.count + y.count, expression())
                return .tuple(x + y)
            case (.string, _): throw RuntimeFailure("can only concatenate str (not \"\(b.typeName)\") to str")
            case (.list, _): throw RuntimeFailure("can only concatenate list (not \"\(b.typeName)\") to list")
            default: break
            }
        case "%":
            // printf-style string formatting: "%s and %d" % (a, b)
            if case .string(let format) = a {
                if case .tuple(let items) = b { return .string(try Filters.printf(format, items, maxBytes: budget.limits.maxOutputBytes)) }
                return .string(try Filters.printf(format, [b], maxBytes: budget.limits.maxOutputBytes))
            }
        case "*":
            // Python repeats; the size is checked first, so `"ab" * 2**62` is an error, not a 2^63-byte allocation.
            switch (a, b) {
            case let (.string(s), _) where b.asInt != nil: return try repeated(s, b.asInt!, budget)
            case let (_, .string(s)) where a.asInt != nil: return try repeated(s, a.asInt!, budget)
            case let (.list(l), _) where b.asInt != nil:
                let n = max(0, b.asInt!)
                try budget.checkSize(l.items.count, times: n, "list * \(n)")
                return .list(Array(repeating: l.items, count: n).flatMap { $0 })
            case (.string, .bigInt), (.bigInt, .string), (.list, .bigInt):
                throw RuntimeFailure("cannot repeat a sequence \(a.typeName == "int" ? a.repr : b.repr) times")
            default: break
            }
        default: break
        }
        if case .bigInt = a { return try BigIntegers.binary(op, a, b) }
        if case .bigInt = b { return try BigIntegers.binary(op, a, b) }
        if let x = a.asInt, let y = b.asInt { return try intOp(op, x, y, a, b) }
        if let x = a.asDouble, let y = b.asDouble { return try doubleOp(op, x, y) }
        throw unsupported(op, a, b)
    }

    static func repeated(_ s: String, _ n: Int, _ budget: RenderBudget) throws -> Value {
        try budget.checkSize(s.utf8.count, times: max(0, n), "str * \(n)")
        return .string(String(repeating: s, count: max(0, n)))
    }

    static func intOp(_ op: String, _ x: Int, _ y: Int, _ a: Value, _ b: Value) throws -> Value {
        // Python ints do not overflow: a sum, difference or product of two 64-bit ints is exact in 128 bits
        // and becomes a `.bigInt` when it does not fit in 64 (never a wrapped value, never a float). On
        // overflow `+` and `-` are off by exactly ±2^64, with the sign of `x`.
        switch op {
        case "+":
            let (r, o) = x.addingReportingOverflow(y)
            return o ? BigIntegers.exact(high: x < 0 ? -1 : 0, low: UInt(bitPattern: r)) : .int(r)
        case "-":
            let (r, o) = x.subtractingReportingOverflow(y)
            return o ? BigIntegers.exact(high: x < 0 ? -1 : 0, low: UInt(bitPattern: r)) : .int(r)
        case "*":
            let (high, low) = x.multipliedFullWidth(by: y)
            return BigIntegers.exact(high: high, low: low)
        case "/":
            guard y != 0 else { throw RuntimeFailure("division by zero") }
            return .double(Double(x) / Double(y))
        case "//":
            guard y != 0 else { throw RuntimeFailure("integer division or modulo by zero") }
            if y == -1 { return BigIntegers.negate(String(x)) }  // Int.min // -1 needs 65 bits
            let q = x / y
            return .int((x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q)
        case "%":
            guard y != 0 else { throw RuntimeFailure("integer division or modulo by zero") }
            if y == -1 { return .int(0) }  // Int.min % -1 traps in Swift; Python gives 0
            let r = x % y
            return .int(r != 0 && ((r < 0) != (y < 0)) ? r + y : r)
        case "**":
            if y < 0 { return .double(pow(Double(x), Double(y))) }
            // A power beyond 64 bits is refused by name (Python would give a big int).
            let tooBig = RuntimeFailure("integer arithmetic beyond 64 bits is not supported: \(x) ** \(y)")
            var result = 1, base = x, e = y
            while e > 0 {
                if e & 1 == 1 {
                    let (r, o) = result.multipliedReportingOverflow(by: base)
                    if o { throw tooBig }
                    result = r
                }
                e >>= 1
                if e > 0 {
                    let (sq, o) = base.multipliedReportingOverflow(by: base)
                    if o { throw tooBig }
                    base = sq
                }
            }
            return .int(result)
        default: throw unsupported(op, a, b)
        }
    }

    static func doubleOp(_ op: String, _ x: Double, _ y: Double) throws -> Value {
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/":
            guard y != 0 else { throw RuntimeFailure("float division by zero") }
            return .double(x / y)
        case "//":
            guard y != 0 else { throw RuntimeFailure("float floor division by zero") }
            return .double((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw RuntimeFailure("float modulo") }
            let r = fmod(x, y)
            return .double(r != 0 && ((r < 0) != (y < 0)) ? r + y : r)
        case "**": return .double(pow(x, y))
        default: throw RuntimeFailure("unsupported operator \(op)")
        }
    }

    /// `in` membership: substring, list element, dict key.
    static func contains(_ container: Value, _ item: Value) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let sub) = item else {
                throw RuntimeFailure("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return sub.isEmpty || s.contains(sub)
        case .list(let l): return l.items.contains { pyEqual($0, item) }
        case .tuple(let t): return t.contains { pyEqual($0, item) }
        case .dict(let d):
            guard case .string(let k) = item else { return d[item.repr] != nil && !(item.isString) }
            return d[k] != nil
        case .undefined: return false
        default: throw RuntimeFailure("argument of type '\(container.typeName)' is not iterable")
        }
    }

    static func compare(_ op: String, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case "==": return pyEqual(a, b)
        case "!=": return !pyEqual(a, b)
        case "in": return try contains(b, a)
        case "not in": return try !contains(b, a)
        default:
            if case .undefined(let hint) = a { throw RuntimeFailure(hint) }
            if case .undefined(let hint) = b { throw RuntimeFailure(hint) }
            guard let lt = pyLess(a, b), let gt = pyLess(b, a) else {
                throw RuntimeFailure("'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
            }
            switch op {
            case "<": return lt
            case ">": return gt
            case "<=": return !gt
            default: return !lt
            }
        }
    }
}

/// Global functions available to every template.
enum Builtins {
    static func global(_ name: String) -> Value? {
        switch name {
        case "range": return .builtin(BuiltinFunction(name: name, call: range))
        case "namespace":
            return .builtin(BuiltinFunction(name: name) { args, kwargs, _ in
                let d = DictBox()
                for a in args {
                    guard case .dict(let src) = a else { throw RuntimeFailure("namespace() positional argument must be a dict") }
                    for (k, v) in src.pairs { d[k] = v }
                }
                for (k, v) in kwargs { d[k] = v }
                return .namespace(d)
            })
        case "dict":
            return .builtin(BuiltinFunction(name: name) { args, kwargs, _ in
                let d = DictBox()
                for a in args {
                    guard case .dict(let src) = a else { throw RuntimeFailure("dict() positional argument must be a dict") }
                    for (k, v) in src.pairs { d[k] = v }
                }
                for (k, v) in kwargs { d[k] = v }
                return .dict(d)
            })
        case "raise_exception":
            return .builtin(BuiltinFunction(name: name) { args, _, _ in
                throw RaisedFailure(message: args.first?.str ?? "")
            })
        case "strftime_now":
            return .builtin(BuiltinFunction(name: name) { args, _, _ in
                guard case .string(let format)? = args.first else { throw RuntimeFailure("strftime_now() needs a format string") }
                return .string(strftimeNow(format))
            })
        case "lipsum", "cycler", "joiner": return nil
        default: return nil
        }
    }

    static func range(_ args: [Value], _ kwargs: [(String, Value)], _ interp: Interpreter) throws -> Value {
        let ints = try args.map { (a: Value) -> Int in
            guard let i = a.asInt else { throw RuntimeFailure("'\(a.typeName)' object cannot be interpreted as an integer") }
            return i
        }
        var start = 0, stop = 0, step = 1
        switch ints.count {
        case 1: stop = ints[0]
        case 2: start = ints[0]; stop = ints[1]
        case 3: start = ints[0]; stop = ints[1]; step = ints[2]
        default: throw RuntimeFailure("range expected 1 to 3 arguments, got \(ints.count)")
        }
        guard step != 0 else { throw RuntimeFailure("range() arg 3 must not be zero") }
        var out: [Value] = []
        var i = start
        while step > 0 ? i < stop : i > stop {
            out.append(.int(i))
            guard out.count <= 100_000 else { throw RuntimeFailure("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).") }
            let (next, overflow) = i.addingReportingOverflow(step)
            if overflow { break }  // the next value lies past Int's range, hence past `stop`
            i = next
        }
        return .list(out)
    }

    /// `datetime.now().strftime(format)` via the C library.
    static func strftimeNow(_ format: String) -> String {
        var t = time(nil)
        var tmValue = tm()
        localtime_r(&t, &tmValue)
        var buffer = [Int8](repeating: 0, count: 512)
        let n = strftime(&buffer, buffer.count, format, &tmValue)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
