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

    /// The 128-bit two's-complement integer `high·2^64 + low` (a full-width product or an overflowed sum),
    /// exactly: `.int` when it fits, else `.bigInt`. Printed by dividing by 10^19 (two words, no Int128,
    /// which needs macOS 15).
    static func exact(high: Int, low: UInt) -> Value {
        if (high == 0 && low >> 63 == 0) || (high == -1 && low >> 63 == 1) { return .int(Int(bitPattern: low)) }
        let negative = high < 0
        var hi = UInt(bitPattern: high), lo = low
        if negative {  // magnitude = two's-complement negation
            lo = ~lo &+ 1
            hi = ~hi &+ (lo == 0 ? 1 : 0)
        }
        let base: UInt = 10_000_000_000_000_000_000
        var chunks: [UInt] = []
        while hi != 0 || lo != 0 {
            let (qHi, rHi) = hi.quotientAndRemainder(dividingBy: base)
            let (qLo, r) = base.dividingFullWidth((rHi, lo))
            chunks.append(r)
            hi = qHi; lo = qLo
        }
        var text = negative ? "-" : ""
        for (i, chunk) in chunks.reversed().enumerated() {
            let part = String(chunk)
            text += i == 0 ? part : String(repeating: "0", count: 19 - part.count) + part
        }
        return .bigInt(text)
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
