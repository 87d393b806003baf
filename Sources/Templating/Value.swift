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

    /// Python `repr(value)`; see `writeRepr` for how cycles, depth and size are bounded.
    var repr: String {
        var out = ""
        writeRepr(into: &out, path: [], depth: 0)
        return out
    }

    /// Text larger than this is cut short (`repr` cannot throw); the interpreter refuses any value past
    /// `TemplateLimits.maxOutputBytes` (≤ this), so a cut text never reaches the output. Without the cap a
    /// list of 10^5 references to one 64 MiB string would print 6.4 TB.
    static let reprCap = 256 << 20
    /// Nesting printed before `...`: a list nested 10^6 deep (built by a loop) must not overflow the stack.
    static let maxReprDepth = 1000

    /// Appends `repr(self)`: a list, dict or namespace already being printed prints as `[...]` / `{...}` /
    /// `<Namespace {...}>`, exactly like Python's cycle-safe repr (`ns.x = ns` prints
    /// `<Namespace {'x': <Namespace {...}>}>` in jinja2).
    func writeRepr(into out: inout String, path: [ObjectIdentifier], depth: Int) {
        if out.utf8.count > Value.reprCap || depth > Value.maxReprDepth { out += "..."; return }
        func items(_ values: [Value], _ path: [ObjectIdentifier]) {
            for (i, v) in values.enumerated() {
                if i > 0 { out += ", " }
                v.writeRepr(into: &out, path: path, depth: depth + 1)
                if out.utf8.count > Value.reprCap { return }
            }
        }
        func pairs(_ d: DictBox, _ path: [ObjectIdentifier]) {
            for (i, (k, v)) in d.pairs.enumerated() {
                if i > 0 { out += ", " }
                out += PythonFormat.stringRepr(k) + ": "
                v.writeRepr(into: &out, path: path, depth: depth + 1)
                if out.utf8.count > Value.reprCap { return }
            }
        }
        switch self {
        case .undefined: break
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .bigInt(let digits): out += digits
        case .double(let d): out += JSONWriter.floatRepr(d)
        case .string(let s): out += PythonFormat.stringRepr(s)
        case .list(let l):
            let id = ObjectIdentifier(l)
            if path.contains(id) { out += "[...]"; return }
            out += "["; items(l.items, path + [id]); out += "]"
        case .tuple(let t):
            out += "("; items(t, path); out += t.count == 1 ? ",)" : ")"
        case .dict(let d):
            let id = ObjectIdentifier(d)
            if path.contains(id) { out += "{...}"; return }
            out += "{"; pairs(d, path + [id]); out += "}"
        case .namespace(let d):
            let id = ObjectIdentifier(d)
            if path.contains(id) { out += "<Namespace {...}>"; return }  // Python guards the attrs dict
            out += "<Namespace {"; pairs(d, path + [id]); out += "}>"
        case .loop: out += "<LoopContext>"
        case .macro(let m): out += "<Macro '\(m.name)'>"
        case .builtin(let f): out += "<built-in function \(f.name)>"
        case .method(let v, let name): out += "<built-in method \(name) of \(v.typeName) object>"
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

    /// Converts back to JSON (for `tojson`); fails like `json.dumps` on unserializable values and on cycles
    /// ("Circular reference detected"), and past `maxBytes` of strings or `JSONParser`'s nesting depth (the
    /// JSON writer recurses; a list of 10^5 references to a big string must not be written out).
    func toJSON(maxBytes: Int) throws -> JSONValue {
        var bytes = 0
        return try toJSON(path: [], depth: 0, bytes: &bytes, maxBytes: maxBytes)
    }

    private func toJSON(path: [ObjectIdentifier], depth: Int, bytes: inout Int, maxBytes: Int) throws -> JSONValue {
        guard depth <= JSONLimits.maxNestingDepth else {
            throw RuntimeFailure("tojson: value nests deeper than \(JSONLimits.maxNestingDepth) levels")
        }
        bytes += 8
        if case .string(let s) = self { bytes += s.utf8.count }
        guard bytes <= maxBytes else { throw RuntimeFailure("tojson: output would be larger than \(maxBytes) bytes") }
        func inner(_ v: Value, _ path: [ObjectIdentifier]) throws -> JSONValue {
            try v.toJSON(path: path, depth: depth + 1, bytes: &bytes, maxBytes: maxBytes)
        }
        func enter(_ object: AnyObject) throws -> [ObjectIdentifier] {
            let id = ObjectIdentifier(object)
            if path.contains(id) { throw RuntimeFailure("Circular reference detected") }
            return path + [id]
        }
        switch self {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .bigInt(let digits): return .bigInt(digits)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .list(let l):
            let p = try enter(l)
            return .array(try l.items.map { try inner($0, p) })
        case .tuple(let t): return .array(try t.map { try inner($0, path) })
        case .dict(let d):
            let p = try enter(d)
            return .object(try d.pairs.map { ($0.0, try inner($0.1, p)) })
        default: throw RuntimeFailure("Object of type \(typeName) is not JSON serializable")
        }
    }
}

/// Python `==`. The same list or dict is equal to itself without a look inside (Python's identity shortcut,
/// which also ends a comparison of a self-containing list); structures nested deeper than
/// `Value.maxReprDepth` compare unequal rather than recurse without bound.
func pyEqual(_ a: Value, _ b: Value) -> Bool { pyEqual(a, b, depth: 0) }

private func pyEqual(_ a: Value, _ b: Value, depth: Int) -> Bool {
    if depth > Value.maxReprDepth { return false }
    let same = { (x: Value, y: Value) in pyEqual(x, y, depth: depth + 1) }
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case let (.string(x), .string(y)): return x == y
    case let (.list(x), .list(y)):
        return x === y || (x.items.count == y.items.count && zip(x.items, y.items).allSatisfy(same))
    case let (.tuple(x), .tuple(y)): return x.count == y.count && zip(x, y).allSatisfy(same)
    case let (.dict(x), .dict(y)):
        return x === y || (x.count == y.count && x.pairs.allSatisfy { k, v in y[k].map { same(v, $0) } ?? false })
    case let (.namespace(x), .namespace(y)): return x === y
    case let (.bigInt(x), .bigInt(y)): return x == y
    case (.bigInt, _), (_, .bigInt): return false  // a big integer never equals a 64-bit int; floats: not exact
    default:
        if let x = a.asInt, let y = b.asInt { return x == y }
        if let x = a.asDouble, let y = b.asDouble { return x == y }
        return false
    }
}

/// Python ordering (`<`); nil when the types are not orderable (or nested past `Value.maxReprDepth`).
func pyLess(_ a: Value, _ b: Value) -> Bool? { pyLess(a, b, depth: 0) }

private func pyLess(_ a: Value, _ b: Value, depth: Int) -> Bool? {
    if depth > Value.maxReprDepth { return nil }
    switch (a, b) {
    case let (.string(x), .string(y)):
        return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) { $0.value < $1.value }
    case let (.list(x), .list(y)): return seqLess(x.items, y.items, depth)
    case let (.tuple(x), .tuple(y)): return seqLess(x, y, depth)
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

private func seqLess(_ x: [Value], _ y: [Value], _ depth: Int) -> Bool? {
    for (p, q) in zip(x, y) where !pyEqual(p, q, depth: depth + 1) { return pyLess(p, q, depth: depth + 1) }
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
