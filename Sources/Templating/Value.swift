import Foundation

/// Mutable list storage: Python lists are shared references (`set b = a` aliases).
final class ListBox {
    var items: [Value]
    init(_ items: [Value]) { self.items = items }
}

/// Ordered dict storage with string keys (chat data only ever has string keys).
final class DictBox {
    private(set) var keys: [String] = []
    private(set) var values: [Value] = []
    private var index: [String: Int] = [:]

    init() {}
    init(_ pairs: [(String, Value)]) { for (k, v) in pairs { self[k] = v } }

    var count: Int { keys.count }
    var pairs: [(String, Value)] { Array(zip(keys, values)) }

    subscript(key: String) -> Value? {
        get { index[key].map { values[$0] } }
        set {
            if let i = index[key] {
                if let v = newValue {
                    values[i] = v
                } else {
                    keys.remove(at: i); values.remove(at: i)
                    index = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
                }
            } else if let v = newValue {
                index[key] = keys.count
                keys.append(key); values.append(v)
            }
        }
    }
}

/// State of a running `for` loop, exposed to templates as `loop`.
final class LoopBox {
    let items: [Value]
    var index0 = 0
    let depth: Int
    init(items: [Value], depth: Int) { self.items = items; self.depth = depth }
}

/// A user-defined `{% macro %}`, closing over the scope it was defined in.
final class MacroBox {
    let name: String
    let params: [(String, Expr?)]
    let body: [Node]
    let closure: Scope
    init(name: String, params: [(String, Expr?)], body: [Node], closure: Scope) {
        self.name = name; self.params = params; self.body = body; self.closure = closure
    }
}

/// A built-in global function (`range`, `namespace`, `raise_exception`, …).
struct BuiltinFunction {
    let name: String
    let call: (_ args: [Value], _ kwargs: [(String, Value)], _ interp: Interpreter) throws -> Value
}

/// A runtime template value, with Python semantics for truthiness, equality and printing.
indirect enum Value {
    /// Jinja's default `Undefined`: prints as empty, is falsy and iterable-empty; `hint` names why.
    case undefined(hint: String)
    case none
    case bool(Bool)
    case int(Int)
    /// An `int` beyond 64 bits as canonical decimal digits (see `BigIntegers`); never one that fits in `Int`.
    case bigInt(String)
    case double(Double)
    case string(String)
    case list(ListBox)
    case tuple([Value])
    case dict(DictBox)
    case namespace(DictBox)
    case loop(LoopBox)
    case macro(MacroBox)
    case builtin(BuiltinFunction)
    /// A method looked up on a value (`s.startswith`), invoked by a call.
    case method(Value, String)

    static func list(_ items: [Value]) -> Value { .list(ListBox(items)) }

    init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .bigInt(let digits): self = .bigInt(digits)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(Value.init(json:)))
        case .object(let o): self = .dict(DictBox(o.map { ($0.0, Value(json: $0.1)) }))
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }
    var isNone: Bool { if case .none = self { return true } else { return false } }
    var isString: Bool { if case .string = self { return true } else { return false } }

    /// Python type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .loop: return "LoopContext"
        case .macro: return "Macro"
        case .builtin, .method: return "builtin_function_or_method"
        }
    }

    /// Python truthiness (`Undefined` is falsy).
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.items.isEmpty
        case .tuple(let t): return !t.isEmpty
        case .dict(let d): return d.count > 0
        default: return true
        }
    }

    /// Numeric view: bool counts as int like in Python.
    var asInt: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    var asDouble: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .bool(let b): return b ? 1 : 0
        case .double(let d): return d
        default: return nil
        }
    }

    /// Python `str(value)`; `Undefined` prints as the empty string.
    var str: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python `repr(value)`.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt(let digits): return digits
        case .double(let d): return JSONWriter.floatRepr(d)
        case .string(let s): return PythonFormat.stringRepr(s)
        case .list(let l): return "[" + l.items.map(\.repr).joined(separator: ", ") + "]"
        case .tuple(let t):
            return t.count == 1 ? "(" + t[0].repr + ",)" : "(" + t.map(\.repr).joined(separator: ", ") + ")"
        case .dict(let d):
            return "{" + d.pairs.map { PythonFormat.stringRepr($0.0) + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case .namespace(let d):
            return "<Namespace {" + d.pairs.map { PythonFormat.stringRepr($0.0) + ": " + $0.1.repr }
                .joined(separator: ", ") + "}>"
        case .loop: return "<LoopContext>"
        case .macro(let m): return "<Macro '\(m.name)'>"
        case .builtin(let f): return "<built-in function \(f.name)>"
        case .method(let v, let name): return "<built-in method \(name) of \(v.typeName) object>"
        }
    }

    /// Items when iterated (`for x in value`): lists, tuples, dict keys, string code points.
    func iterate() throws -> [Value] {
        switch self {
        case .undefined: return []
        case .list(let l): return l.items
        case .tuple(let t): return t
        case .dict(let d): return d.keys.map(Value.string)
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        default: throw RuntimeFailure("'\(typeName)' object is not iterable")
        }
    }

    /// Converts back to JSON (for `tojson`); fails like `json.dumps` on unserializable values.
    func toJSON() throws -> JSONValue {
        switch self {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .bigInt(let digits): return .bigInt(digits)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .list(let l): return .array(try l.items.map { try $0.toJSON() })
        case .tuple(let t): return .array(try t.map { try $0.toJSON() })
        case .dict(let d): return .object(try d.pairs.map { ($0.0, try $0.1.toJSON()) })
        default: throw RuntimeFailure("Object of type \(typeName) is not JSON serializable")
        }
    }
}

/// Python `==`.
func pyEqual(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case let (.string(x), .string(y)): return x == y
    case let (.list(x), .list(y)): return x.items.count == y.items.count && zip(x.items, y.items).allSatisfy(pyEqual)
    case let (.tuple(x), .tuple(y)): return x.count == y.count && zip(x, y).allSatisfy(pyEqual)
    case let (.dict(x), .dict(y)):
        return x.count == y.count && x.pairs.allSatisfy { k, v in y[k].map { pyEqual(v, $0) } ?? false }
    case let (.namespace(x), .namespace(y)): return x === y
    case let (.bigInt(x), .bigInt(y)): return x == y
    case (.bigInt, _), (_, .bigInt): return false  // a big integer never equals a 64-bit int; floats: not exact
    default:
        if let x = a.asInt, let y = b.asInt { return x == y }
        if let x = a.asDouble, let y = b.asDouble { return x == y }
        return false
    }
}

/// Python ordering (`<`); nil when the types are not orderable.
func pyLess(_ a: Value, _ b: Value) -> Bool? {
    switch (a, b) {
    case let (.string(x), .string(y)):
        return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) { $0.value < $1.value }
    case let (.list(x), .list(y)): return seqLess(x.items, y.items)
    case let (.tuple(x), .tuple(y)): return seqLess(x, y)
    case (.bigInt, _), (_, .bigInt):
        if let x = BigIntegers.digits(a), let y = BigIntegers.digits(b) { return BigIntegers.less(x, y) }
        if case .bigInt(let x) = a, case .double(let y) = b { return Double(x)! < y }
        if case .double(let x) = a, case .bigInt(let y) = b { return x < Double(y)! }
        return nil
    default:
        if let x = a.asInt, let y = b.asInt { return x < y }
        if let x = a.asDouble, let y = b.asDouble { return x < y }
        return nil
    }
}

private func seqLess(_ x: [Value], _ y: [Value]) -> Bool? {
    for (p, q) in zip(x, y) where !pyEqual(p, q) { return pyLess(p, q) }
    return x.count < y.count
}

/// An error raised while evaluating; the interpreter attaches the template position.
struct RuntimeFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// `raise_exception(msg)` from a template.
struct RaisedFailure: Error {
    let message: String
}
