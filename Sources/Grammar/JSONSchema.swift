import Foundation
import JSON

/// JSON Schema (a draft 2020-12 subset covering OpenAI's strict structured outputs) compiled to a grammar.
///
/// Supported keywords: `type` (name or list), `properties`, `required`, `additionalProperties` (false by
/// default when `strict`), `enum`, `const`, `anyOf`, `oneOf` (as anyOf: exclusivity is not enforced), `allOf`
/// with one member, `$ref` (`#`, `#/$defs/…`, `#/definitions/…`, recursive), `$defs`/`definitions`, `items`,
/// `prefixItems`, `minItems`, `maxItems`, `minLength`, `maxLength`, `pattern` (see `RegexCompiler`), `format`
/// (date, time, date-time, uuid, email), `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum` on integers.
/// Annotations (`title`, `description`, `default`, `examples`, `$schema`, `$id`, `$comment`, `deprecated`,
/// `readOnly`, `writeOnly`, `strict`) are ignored. Any other keyword is an error naming it and where it is.
/// Properties are written in the schema's order; optional ones may be left out.
public struct JSONSchemaCompiler {
    public var strict: Bool
    private var b = GrammarBuilder()
    private let root: JSONValue
    private var refRules: [String: Int] = [:]
    private var stringRule: Int?
    private var anyValueRule: Int?

    static let annotations: Set<String> = ["title", "description", "default", "examples", "$schema", "$id", "$comment",
                                           "deprecated", "readOnly", "writeOnly", "strict", "$defs", "definitions"]

    /// The grammar of documents valid under `schema`.
    public static func grammar(_ schema: JSONValue, strict: Bool = true) throws -> Grammar {
        var c = JSONSchemaCompiler(strict: strict, root: schema)
        let top = c.b.declare("root")
        c.b.define(top, try c.compile(schema, path: "#"))
        return try c.b.build(root: top)
    }

    /// An expression for one value of a schema; used by the tool-call front end for object/array parameters.
    init(strict: Bool, root: JSONValue, builder: GrammarBuilder = GrammarBuilder()) {
        self.strict = strict
        self.root = root
        b = builder
    }

    var builder: GrammarBuilder { b }

    mutating func compile(_ schema: JSONValue, path: String) throws -> Expr {
        switch schema {
        case .bool(true): return .rule(anyValue())
        case .bool(false): throw GrammarError("schema at \(path) is `false`: no value is valid")
        case .object: break
        default: throw GrammarError("schema at \(path) must be an object or a boolean, not \(schema.typeName)")
        }
        let keys = Set(schema.objectValue!.map(\.0))
        let known: Set<String> = ["type", "properties", "required", "additionalProperties", "enum", "const", "anyOf", "oneOf",
                                  "allOf", "$ref", "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength",
                                  "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
        if let unknown = keys.subtracting(known).subtracting(Self.annotations).sorted().first {
            throw GrammarError("unsupported JSON Schema keyword '\(unknown)' at \(path)")
        }
        if let ref = schema["$ref"]?.stringValue {
            guard keys.subtracting(Self.annotations).count == 1 else {
                throw GrammarError("'$ref' beside other keywords at \(path) is not supported")
            }
            return .rule(try refRule(ref, path: path))
        }
        if let value = schema["const"] { return .bytes(Array(value.serialized().utf8)) }
        if let values = schema["enum"] {
            guard let list = values.arrayValue, !list.isEmpty else { throw GrammarError("'enum' at \(path) must be a non-empty array") }
            return .alt(list.map { .bytes(Array($0.serialized().utf8)) })
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            guard let branches = schema[key] else { continue }
            guard let list = branches.arrayValue, !list.isEmpty else { throw GrammarError("'\(key)' at \(path) must be a non-empty array") }
            if key == "allOf" && list.count != 1 { throw GrammarError("'allOf' with more than one schema at \(path) is not supported") }
            return .alt(try list.enumerated().map { try compile($1, path: "\(path)/\(key)/\($0)") })
        }
        let types: [String]
        switch schema["type"] {
        case .string(let t)?: types = [t]
        case .array(let list)?: types = try list.map {
            guard let t = $0.stringValue else { throw GrammarError("'type' at \(path) must hold type names") }
            return t
        }
        case nil:
            // No type: the keywords present say which kind is meant.
            if keys.contains("properties") || keys.contains("additionalProperties") { types = ["object"] }
            else if keys.contains("items") || keys.contains("prefixItems") { types = ["array"] }
            else if keys.contains("pattern") || keys.contains("format") || keys.contains("minLength") || keys.contains("maxLength") { types = ["string"] }
            else { return .rule(anyValue()) }
        default: throw GrammarError("'type' at \(path) must be a string or an array of strings")
        }
        let options = try types.map { try typed($0, schema, path: path) }
        return options.count == 1 ? options[0] : .alt(options)
    }

    private mutating func typed(_ type: String, _ s: JSONValue, path: String) throws -> Expr {
        switch type {
        case "object": return try object(s, path: path)
        case "array": return try array(s, path: path)
        case "string": return try string(s, path: path)
        case "integer":
            let exMin = try intKeyword(s, "exclusiveMinimum", path).map { $0 + 1 }
            let exMax = try intKeyword(s, "exclusiveMaximum", path).map { $0 - 1 }
            let lo = [try intKeyword(s, "minimum", path), exMin].compactMap { $0 }.max()
            let hi = [try intKeyword(s, "maximum", path), exMax].compactMap { $0 }.min()
            if lo == nil && hi == nil { return JSONPieces.integer }
            return try IntegerRange.expr(min: lo, max: hi)
        case "number":
            for k in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] where s[k] != nil {
                throw GrammarError("'\(k)' on a number at \(path) is not supported (only on integers)")
            }
            return JSONPieces.number
        case "boolean": return .alt([.lit("true"), .lit("false")])
        case "null": return .lit("null")
        default: throw GrammarError("unknown type '\(type)' at \(path)")
        }
    }

    private func intKeyword(_ s: JSONValue, _ key: String, _ path: String) throws -> Int? {
        guard let v = s[key] else { return nil }
        guard let i = v.intValue else { throw GrammarError("'\(key)' at \(path) must be an integer") }
        return i
    }

    private func count(_ s: JSONValue, _ key: String, _ path: String) throws -> Int? {
        guard let v = s[key] else { return nil }
        guard let i = v.intValue, i >= 0 else { throw GrammarError("'\(key)' at \(path) must be a non-negative integer") }
        return i
    }

    // MARK: - Objects

    private mutating func object(_ s: JSONValue, path: String) throws -> Expr {
        let properties = s["properties"]?.objectValue ?? []
        let required = Set((s["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        if let missing = required.subtracting(properties.map(\.0)).sorted().first, strict || s["additionalProperties"] == .bool(false) {
            throw GrammarError("required property '\(missing)' at \(path) is not in 'properties'")
        }
        var members: [(Expr, Bool)] = []
        for (name, sub) in properties {
            let key = Expr.bytes(Array(JSONValue.string(name).serialized().utf8))
            let value = try compile(sub, path: "\(path)/properties/\(name)")
            members.append((.seq([key, .lit(":"), JSONPieces.space, value]), required.contains(name)))
        }
        // additionalProperties: a schema, or true (the default when not strict), admits extra string keys.
        var extra: Expr?
        switch s["additionalProperties"] {
        case .bool(false)?: extra = nil
        case .bool(true)?: extra = .rule(anyValue())
        case let sub?: extra = try compile(sub, path: "\(path)/additionalProperties")
        case nil: extra = strict ? nil : .rule(anyValue())
        }
        if let extra {
            members.append((.star(.seq([.rule(stringRuleID()), .lit(":"), JSONPieces.space, extra])), false))
        }
        return .seq([.lit("{"), Self.memberList(members), .lit("}")])
    }

    /// Members in order, each optional one may be absent, commas only between present ones. For the first
    /// present member k (no required one skipped), the rest are each `(, member)` or, if optional, nothing.
    static func memberList(_ members: [(expr: Expr, required: Bool)]) -> Expr {
        let sep = Expr.seq([.lit(","), JSONPieces.space])
        func rest(_ from: Int) -> Expr {
            .seq(members[from...].map { m in
                if case .rep(let inner, 0, nil) = m.expr { return .star(.seq([sep, inner])) }
                return m.required ? .seq([sep, m.expr]) : .opt(.seq([sep, m.expr]))
            })
        }
        var options: [Expr] = []
        for k in members.indices {
            if case .rep(let inner, 0, nil) = members[k].expr {
                options.append(.seq([inner, .star(.seq([sep, inner]))]))
            } else {
                options.append(.seq([members[k].expr, rest(k + 1)]))
            }
            if members[k].required { return .alt(options) }
        }
        options.append(.empty)
        return .alt(options)
    }

    // MARK: - Arrays

    private mutating func array(_ s: JSONValue, path: String) throws -> Expr {
        let prefix = try (s["prefixItems"]?.arrayValue ?? []).enumerated().map { try compile($1, path: "\(path)/prefixItems/\($0)") }
        let minItems = try count(s, "minItems", path) ?? 0
        let maxItems = try count(s, "maxItems", path)
        if let maxItems, maxItems < minItems { throw GrammarError("'maxItems' < 'minItems' at \(path)") }
        var item: Expr?
        switch s["items"] {
        case .bool(false)?: item = nil
        case let sub?: item = try compile(sub, path: "\(path)/items")
        case nil: item = prefix.isEmpty || !strict ? .rule(anyValue()) : nil
        }
        let sep = Expr.seq([.lit(","), JSONPieces.space])
        // Prefix items in order, each optional one only after the one before it; then `items` for the rest,
        // within minItems…maxItems.
        let fixed = Swift.min(prefix.count, maxItems ?? prefix.count)
        var tail: Expr = .empty
        if let item, maxItems.map({ $0 > fixed }) ?? true {
            let need = Swift.max(minItems - fixed, 0)
            let more = maxItems.map { $0 - fixed }
            if fixed == 0 {
                let rest: Expr = .rep(.seq([sep, item]), min: Swift.max(need - 1, 0), max: more.map { $0 - 1 })
                tail = need > 0 ? .seq([item, rest]) : .opt(.seq([item, rest]))
            } else {
                tail = .rep(.seq([sep, item]), min: need, max: more)
            }
        } else if minItems > fixed {
            throw GrammarError("'minItems' \(minItems) at \(path) cannot be met: only \(fixed) items are allowed")
        }
        for i in stride(from: fixed - 1, through: 0, by: -1) {
            let element = Expr.seq([i == 0 ? prefix[i] : .seq([sep, prefix[i]]), tail])
            tail = i < minItems ? element : .opt(element)
        }
        return .seq([.lit("["), tail, .lit("]")])
    }

    // MARK: - Strings

    private mutating func string(_ s: JSONValue, path: String) throws -> Expr {
        let minLength = try count(s, "minLength", path)
        let maxLength = try count(s, "maxLength", path)
        var body: Expr
        if let pattern = s["pattern"] {
            guard let p = pattern.stringValue else { throw GrammarError("'pattern' at \(path) must be a string") }
            guard minLength == nil && maxLength == nil && s["format"] == nil else {
                throw GrammarError("'pattern' combined with 'minLength'/'maxLength'/'format' at \(path) is not supported")
            }
            body = try RegexCompiler.compile(p)
        } else if let format = s["format"] {
            guard minLength == nil && maxLength == nil else {
                throw GrammarError("'format' combined with 'minLength'/'maxLength' at \(path) is not supported")
            }
            guard let f = format.stringValue, let regex = Self.formats[f] else {
                throw GrammarError("unsupported 'format' \(format.serialized()) at \(path) (supported: \(Self.formats.keys.sorted().joined(separator: ", ")))")
            }
            body = try RegexCompiler.compile(regex)
        } else if minLength != nil || maxLength != nil {
            if let minLength, let maxLength, maxLength < minLength { throw GrammarError("'maxLength' < 'minLength' at \(path)") }
            body = .rep(JSONPieces.stringChar, min: minLength ?? 0, max: maxLength)
        } else {
            return .rule(stringRuleID())
        }
        return .seq([.lit("\""), body, .lit("\"")])
    }

    static let formats: [String: String] = {
        let date = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
        let time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
        return [
            "date": "^\(date)$",
            "time": "^\(time)$",
            "date-time": "^\(date)T\(time)$",
            "uuid": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            "email": "^[a-zA-Z0-9._%+-]{1,64}@[a-zA-Z0-9-]{1,63}(\\.[a-zA-Z0-9-]{1,63}){1,8}$",
        ]
    }()

    // MARK: - Shared rules

    private mutating func stringRuleID() -> Int {
        if let id = stringRule { return id }
        let id = b.add("string", .seq([.lit("\""), .star(JSONPieces.stringChar), .lit("\"")]))
        stringRule = id
        return id
    }

    private mutating func anyValue() -> Int {
        if let id = anyValueRule { return id }
        let id = JSONPieces.anyValue(&b)
        anyValueRule = id
        return id
    }

    /// The schema a local JSON pointer (`#`, `#/$defs/x`) names, or nil.
    func resolve(_ ref: String) -> JSONValue? {
        var target = root
        for raw in ref.dropFirst(2).split(separator: "/") where ref != "#" {
            let key = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = target[key] else { return nil }
            target = next
        }
        return target
    }

    /// One rule per reference target, declared before it is compiled so that recursion ends in a call.
    private mutating func refRule(_ ref: String, path: String) throws -> Int {
        if let id = refRules[ref] { return id }
        guard ref == "#" || ref.hasPrefix("#/") else {
            throw GrammarError("'$ref' \"\(ref)\" at \(path): only local references (#/…) are supported")
        }
        guard let target = resolve(ref) else { throw GrammarError("'$ref' \"\(ref)\" at \(path) does not resolve") }
        let id = b.declare(ref)
        refRules[ref] = id
        b.define(id, try compile(target, path: ref))
        return id
    }
}
