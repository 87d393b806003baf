import Templating

/// How a `<parameter=…>` value (always text in the XML format) becomes a JSON value, from the parameter's JSON
/// schema. Follows vLLM's qwen3_coder tool parser (`_convert_param_value`) with two deliberate differences the
/// server's contract asks for: a `number` stays a float even when written `3` (vLLM turns `3.0` into `3`), and
/// type lists / `anyOf` / `oneOf` are honoured instead of reading only `type`.
enum ArgumentType: Sendable, Equatable {
    case string, integer, number, boolean, null, object, array

    /// vLLM's spellings: it matches type names by prefix (`int…`, `num…`, `float`, `bool…`, `dict`, `list`).
    init?(schemaName: String) {
        let name = schemaName.lowercased()
        switch name {
        case "string", "str", "text", "varchar", "char", "enum": self = .string
        case "null", "none": self = .null
        case "object", "dict", "map": self = .object
        case "array", "list", "tuple", "set": self = .array
        default:
            if ["int", "uint", "long", "short", "unsigned"].contains(where: name.hasPrefix) {
                self = .integer
            } else if name.hasPrefix("num") || name.hasPrefix("float") || name == "double" {
                self = .number
            } else if name.hasPrefix("bool") || name == "binary" {
                self = .boolean
            } else {
                return nil
            }
        }
    }

    /// The value as this type, or nil when it does not parse as it.
    func convert(_ text: String) -> JSONValue? {
        let trimmed = text.trimmingWhitespace
        switch self {
        case .string: return .string(text)
        case .integer:
            if case .int(let i)? = try? JSONValue.parse(trimmed) { return .int(i) }
            return nil
        case .number:
            switch try? JSONValue.parse(trimmed) {
            case .int(let i)?: return .double(Double(i))
            case .double(let d)?: return .double(d)
            default: return nil
            }
        case .boolean:
            // The template renders Python booleans (`True`/`False`); vLLM compares case-insensitively.
            switch trimmed.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return nil
            }
        case .null: return trimmed.lowercased() == "null" ? .null : nil
        case .object:
            if case .object(let members)? = try? JSONValue.parse(trimmed) { return .object(members) }
            return nil
        case .array:
            if case .array(let items)? = try? JSONValue.parse(trimmed) { return .array(items) }
            return nil
        }
    }
}

/// The types to try for one parameter, in order.
struct ArgumentTypes: Sendable, Equatable {
    /// Non-null types in schema order, then `null` if allowed: "first non-null type wins where ambiguous"
    /// (`["null","string"]` with the text `null` gives the string).
    let candidates: [ArgumentType]

    /// A parameter the schema does not name, or names without any type information, is a string (vLLM).
    init(schema: JSONValue?) {
        let listed = schema.map(Self.types(of:)) ?? []
        var ordered: [ArgumentType] = []
        for type in listed where type != .null && !ordered.contains(type) { ordered.append(type) }
        if listed.contains(.null) { ordered.append(.null) }
        candidates = ordered.isEmpty ? [.string] : ordered
    }

    /// The value is always the text as written, so it can be streamed before `</parameter>` arrives.
    var isString: Bool { candidates.first == .string }

    /// The first candidate the text parses as; else `null` for the text `null` (vLLM maps it to None whatever
    /// the type), else the string as written.
    func convert(_ text: String) -> JSONValue {
        for type in candidates {
            if let value = type.convert(text) { return value }
        }
        return ArgumentType.null.convert(text) ?? .string(text)
    }

    /// `type` (a name or a list of names), else the union of `anyOf`/`oneOf` branches, else the kinds of the
    /// `enum` values.
    private static func types(of schema: JSONValue) -> [ArgumentType] {
        switch schema["type"] {
        case .string(let name)?: return ArgumentType(schemaName: name).map { [$0] } ?? []
        case .array(let names)?: return names.compactMap { $0.stringValue.flatMap(ArgumentType.init(schemaName:)) }
        default: break
        }
        for key in ["anyOf", "oneOf"] {
            if let branches = schema[key]?.arrayValue { return branches.flatMap(types(of:)) }
        }
        if let values = schema["enum"]?.arrayValue { return values.compactMap(kind(of:)) }
        return []
    }

    private static func kind(of value: JSONValue) -> ArgumentType? {
        switch value {
        case .null: return .null
        case .bool: return .boolean
        case .int, .bigInt: return .integer
        case .double: return .number
        case .string: return .string
        case .array: return .array
        case .object: return .object
        }
    }
}

/// JSON string escaping (without the quotes) exactly as `JSONValue.serialized()` writes it, per scalar, so
/// escaping fragments and concatenating equals escaping the whole.
func jsonEscaped(_ text: String) -> String {
    let quoted = JSONValue.string(text).serialized()
    return String(quoted.dropFirst().dropLast())
}
