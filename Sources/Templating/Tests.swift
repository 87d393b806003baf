import Foundation

/// jinja2's builtin tests (`x is defined`, `x is divisibleby 3`, …).
enum Tests {
    typealias Test = (Value, [Value]) throws -> Bool

    static func arg(_ args: [Value], _ name: String) throws -> Value {
        guard let a = args.first else { throw RuntimeFailure("test '\(name)' needs an argument") }
        return a
    }

    static let table: [String: Test] = [
        "defined": { v, _ in !v.isUndefined },
        "undefined": { v, _ in v.isUndefined },
        "none": { v, _ in v.isNone },
        "mapping": { v, _ in if case .dict = v { return true } else { return false } },
        // Python: anything with len() and __getitem__ (str, list, tuple, dict).
        "sequence": { v, _ in
            switch v {
            case .string, .list, .tuple, .dict, .undefined: return true
            default: return false
            }
        },
        // Undefined is iterable (yields nothing) in jinja2.
        "iterable": { v, _ in
            switch v {
            case .string, .list, .tuple, .dict, .undefined: return true
            default: return false
            }
        },
        "string": { v, _ in v.isString },
        "number": { v, _ in
            switch v {
            case .int, .bigInt, .double, .bool: return true
            default: return false
            }
        },
        "integer": { v, _ in
            switch v {
            case .int, .bigInt: return true
            default: return false
            }
        },
        "float": { v, _ in if case .double = v { return true } else { return false } },
        "boolean": { v, _ in if case .bool = v { return true } else { return false } },
        "true": { v, _ in if case .bool(true) = v { return true } else { return false } },
        "false": { v, _ in if case .bool(false) = v { return true } else { return false } },
        "callable": { v, _ in
            switch v {
            case .macro, .builtin, .method: return true
            default: return false
            }
        },
        "odd": { v, _ in
            guard let i = v.asInt else { throw RuntimeFailure("odd test needs an integer") }
            return i % 2 != 0
        },
        "even": { v, _ in
            guard let i = v.asInt else { throw RuntimeFailure("even test needs an integer") }
            return i % 2 == 0
        },
        "divisibleby": { v, a in
            guard let i = v.asInt, let n = try arg(a, "divisibleby").asInt, n != 0 else {
                throw RuntimeFailure("divisibleby needs non-zero integers")
            }
            return i % n == 0
        },
        "eq": { v, a in pyEqual(v, try arg(a, "eq")) },
        "equalto": { v, a in pyEqual(v, try arg(a, "equalto")) },
        "==": { v, a in pyEqual(v, try arg(a, "==")) },
        "ne": { v, a in !pyEqual(v, try arg(a, "ne")) },
        "!=": { v, a in !pyEqual(v, try arg(a, "!=")) },
        "lt": { v, a in try Arithmetic.compare("<", v, try arg(a, "lt")) },
        "lessthan": { v, a in try Arithmetic.compare("<", v, try arg(a, "lessthan")) },
        "le": { v, a in try Arithmetic.compare("<=", v, try arg(a, "le")) },
        "gt": { v, a in try Arithmetic.compare(">", v, try arg(a, "gt")) },
        "greaterthan": { v, a in try Arithmetic.compare(">", v, try arg(a, "greaterthan")) },
        "ge": { v, a in try Arithmetic.compare(">=", v, try arg(a, "ge")) },
        "in": { v, a in try Arithmetic.contains(try arg(a, "in"), v) },
        "lower": { v, _ in
            // Python str.islower(): at least one cased character and none uppercase.
            guard case .string(let s) = v else { return false }
            return s.contains { $0.isCased } && s.lowercased() == s
        },
        "upper": { v, _ in
            guard case .string(let s) = v else { return false }
            return s.contains { $0.isCased } && s.uppercased() == s
        },
        "sameas": { v, a in
            let other = try arg(a, "sameas")
            switch (v, other) {
            case (.none, .none): return true
            case let (.bool(x), .bool(y)): return x == y
            case let (.list(x), .list(y)): return x === y
            case let (.dict(x), .dict(y)), let (.namespace(x), .namespace(y)): return x === y
            default: return false
            }
        },
        "escaped": { _, _ in false },
        "filter": { v, _ in Filters.names.contains(v.str) },
        "test": { v, _ in ["defined", "undefined", "none", "string", "number"].contains(v.str) || testNames.contains(v.str) },
    ]

    static let testNames: Set<String> = [
        "defined", "undefined", "none", "mapping", "sequence", "iterable", "string", "number", "integer", "float",
        "boolean", "true", "false", "callable", "odd", "even", "divisibleby", "eq", "equalto", "==", "ne", "!=",
        "lt", "lessthan", "le", "gt", "greaterthan", "ge", "in", "lower", "upper", "sameas", "escaped", "filter", "test",
    ]
}
