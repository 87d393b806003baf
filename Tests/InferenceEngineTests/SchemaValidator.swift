import Foundation
import JSON

/// An independent JSON Schema check for the generated documents (the subset `JSONSchemaCompiler` supports),
/// written from the spec, not from the grammar: patterns and formats go through NSRegularExpression.
struct SchemaValidator {
    let root: JSONValue

    func valid(_ v: JSONValue, _ s: JSONValue) -> Bool {
        if case .bool(let b) = s { return b }
        if let ref = s["$ref"]?.stringValue {
            var t = root
            for k in ref.dropFirst(2).split(separator: "/") where ref != "#" { t = t[String(k)] ?? .null }
            return valid(v, t)
        }
        if let c = s["const"], c != v { return false }
        if let e = s["enum"]?.arrayValue, !e.contains(v) { return false }
        for key in ["anyOf", "oneOf"] { if let bs = s[key]?.arrayValue, !bs.contains(where: { valid(v, $0) }) { return false } }
        if let bs = s["allOf"]?.arrayValue, !bs.allSatisfy({ valid(v, $0) }) { return false }
        if let t = s["type"] {
            let types = t.stringValue.map { [$0] } ?? (t.arrayValue ?? []).compactMap(\.stringValue)
            if !types.contains(where: { Self.isType(v, $0) }) { return false }
        }
        switch v {
        case .object(let members):
            let props = s["properties"]?.objectValue ?? []
            for r in (s["required"]?.arrayValue ?? []).compactMap(\.stringValue) where !members.contains(where: { $0.0 == r }) { return false }
            for (k, mv) in members {
                if let ps = props.first(where: { $0.0 == k })?.1 { if !valid(mv, ps) { return false }; continue }
                switch s["additionalProperties"] {
                case .bool(false)?, nil: if s["properties"] != nil || s["additionalProperties"] != nil { return false }
                case let a?: if !valid(mv, a) { return false }
                }
            }
        case .array(let items):
            let prefix = s["prefixItems"]?.arrayValue ?? []
            for (i, item) in items.enumerated() {
                if i < prefix.count { if !valid(item, prefix[i]) { return false } }
                else if let it = s["items"], !valid(item, it) { return false }
            }
            if let mn = s["minItems"]?.intValue, items.count < mn { return false }
            if let mx = s["maxItems"]?.intValue, items.count > mx { return false }
        case .string(let str):
            let n = str.unicodeScalars.count
            if let mn = s["minLength"]?.intValue, n < mn { return false }
            if let mx = s["maxLength"]?.intValue, n > mx { return false }
            if let p = s["pattern"]?.stringValue, !Self.search(p, str) { return false }
            if let f = s["format"]?.stringValue, let p = Self.formats[f], !Self.search(p, str) { return false }
        case .int(let i):
            if let mn = s["minimum"]?.intValue, i < mn { return false }
            if let mx = s["maximum"]?.intValue, i > mx { return false }
            if let mn = s["exclusiveMinimum"]?.intValue, i <= mn { return false }
            if let mx = s["exclusiveMaximum"]?.intValue, i >= mx { return false }
        default: break
        }
        return true
    }

    static func isType(_ v: JSONValue, _ t: String) -> Bool {
        switch (t, v) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null),
             ("integer", .int), ("integer", .bigInt), ("number", .int), ("number", .bigInt), ("number", .double): return true
        default: return false
        }
    }

    static func search(_ pattern: String, _ s: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return false }
        return re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    static let formats = [
        "date": #"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"#,
        "time": #"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"#,
        "date-time": #"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"#,
        "uuid": #"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"#,
        "email": #"^[^@\s]+@[^@\s]+\.[^@\s]+$"#,
    ]
}
