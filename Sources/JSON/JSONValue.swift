/// A JSON value whose objects keep their key order: the one JSON type of QwenKit.
///
/// Chat templates iterate dicts in insertion order and `tojson` must reproduce that order, which
/// `JSONSerialization` loses; safetensors headers need integers kept apart from floats; `tokenizer.json` is
/// 11 MB. One reader with one policy serves all three (see `JSONParser`): duplicate keys, lone surrogates,
/// invalid UTF-8, numbers out of `Double` range and nesting deeper than `JSONParser.maxDepth` are errors.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in `Int`.
    case int(Int)
    /// An integer that does not fit in `Int`, kept exact as its canonical decimal digits (optional leading
    /// `-`, no leading zeros), so a 20-digit tool-call argument survives a round trip instead of becoming
    /// `1.2345678901234567e+19`. Never holds a value that fits in `Int` (use `JSONValue.integer(digits:)`).
    case bigInt(String)
    /// Any number with a fraction or an exponent.
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Ordered members; keys are unique when the value comes from the parser.
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.bigInt(x), .bigInt(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// An integer from canonical decimal digits: `.int` when it fits, else `.bigInt`; nil when `digits` is not
    /// `-?(0|[1-9][0-9]*)`.
    public static func integer(digits: String) -> JSONValue? {
        let body = digits.hasPrefix("-") ? digits.utf8.dropFirst() : digits.utf8[...]
        guard let first = body.first, first != UInt8(ascii: "0") || body.count == 1,
              body.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(digits).map(JSONValue.int) ?? .bigInt(digits)
    }

    /// Member lookup on an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// Element of an array; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// An `.int`, or a `.double` holding a whole number within `Int` range (`5.0` is a valid id in a config).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e18: return Int(d)
        default: return nil
        }
    }
    /// Any number as `Double` (a big integer rounds to the nearest `Double`).
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .bigInt(let digits): return Double(digits)
        case .double(let d): return d
        default: return nil
        }
    }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [(String, JSONValue)]? { if case .object(let o) = self { return o } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// A short name of the value's JSON type, for error messages ("expected an array, found a string").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .bigInt: "an integer beyond 64 bits"
        case .double: "a non-integer number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Compact JSON (`,` and `:` without spaces), object order preserved, non-ASCII kept.
    public func serialized() -> String {
        var out = ""
        JSONWriter.write(self, into: &out, itemSeparator: ",", keySeparator: ":")
        return out
    }
}
