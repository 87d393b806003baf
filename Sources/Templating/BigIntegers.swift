import Foundation

/// Jinja `int` values beyond 64 bits (`Value.bigInt`), kept as canonical decimal digits like `JSONValue.bigInt`.
///
/// Chat data carries them (a tool-call argument `{"n": 12345678901234567890}`), and templates print, compare
/// and `tojson` them; that must be exact, as in Python. Arithmetic on them is not implemented: an operation
/// with another integer throws an error naming it (never wraps, never traps); with a float it is float
/// arithmetic, as in Python.
enum BigIntegers {
    /// The integer written by `digits` (`-?[1-9][0-9]*` or `0`): `.int` when it fits, else `.bigInt`.
    static func value(_ digits: String) -> Value { Int(digits).map(Value.int) ?? .bigInt(digits) }

    /// `-x` of an exact integer, including `-Int.min`, which needs 64 bits plus one.
    static func negate(_ digits: String) -> Value {
        if digits == "0" { return .int(0) }
        return value(digits.hasPrefix("-") ? String(digits.dropFirst()) : "-" + digits)
    }

    /// The decimal digits of an exact integer value (`bool` counts, like Python's int), nil otherwise.
    static func digits(_ v: Value) -> String? {
        if case .bigInt(let d) = v { return d }
        return v.asInt.map { String($0) }
    }

    /// Numeric order of two canonical decimal integers: sign, then length, then digit by digit.
    static func less(_ x: String, _ y: String) -> Bool {
        let xNeg = x.hasPrefix("-"), yNeg = y.hasPrefix("-")
        if xNeg != yNeg { return xNeg }
        let a = xNeg ? x.dropFirst() : x[...], b = yNeg ? y.dropFirst() : y[...]
        let magnitudeLess = a.count != b.count ? a.count < b.count : a.lexicographicallyPrecedes(b)
        let equal = a == b
        return xNeg ? !magnitudeLess && !equal : magnitudeLess
    }

    /// A binary operator with a big integer on either side: float arithmetic when the other side is a float,
    /// otherwise an error naming the operation.
    static func binary(_ op: String, _ a: Value, _ b: Value) throws -> Value {
        func asFloat(_ v: Value) -> Double? {
            if case .bigInt(let d) = v { return Double(d) }
            if case .double(let d) = v { return d }
            return nil
        }
        let aIsFloat = { if case .double = a { return true } else { return false } }()
        let bIsFloat = { if case .double = b { return true } else { return false } }()
        if aIsFloat || bIsFloat, let x = asFloat(a), let y = asFloat(b) {
            return try Arithmetic.doubleOp(op, x, y)
        }
        guard digits(a) != nil, digits(b) != nil else { throw Arithmetic.unsupported(op, a, b) }
        throw RuntimeFailure("integer arithmetic beyond 64 bits is not supported: \(a.repr) \(op) \(b.repr)")
    }
}
