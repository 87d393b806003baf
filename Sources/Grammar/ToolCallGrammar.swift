import JSON

/// Qwen3.5's XML tool calls as a grammar, each parameter's text constrained by its JSON schema:
///
///     <tool_call>\n<function=NAME>\n<parameter=ARG>\nVALUE\n</parameter>\n…</function>\n</tool_call>
///
/// (the form the chat template renders and `ReplyParser` reads). Parameters come in the schema's order, the
/// required ones always; a string VALUE is free text without `</parameter>` (or, with `enum`, one of the
/// values as written; with `pattern`/`format`, text matching it as written, no JSON escapes; with
/// `minLength`/`maxLength`, that many characters; the last two never produce `<`), other types are compact
/// JSON under their schema (integers digits, booleans `true`/`false`, objects and arrays JSON).
public enum ToolCallGrammar {
    public struct Tool: Sendable {
        public var name: String
        /// The function's `parameters` schema (nil: no parameters).
        public var parameters: JSONValue?
        public init(name: String, parameters: JSONValue?) {
            self.name = name
            self.parameters = parameters
        }
    }

    public enum Mode: Sendable {
        /// One or more calls and nothing else (`tool_choice: "required"`).
        case required
        /// Exactly one call (a named `tool_choice`).
        case one
        /// Free text, then optionally calls (`strict: true` tools under `tool_choice: "auto"`).
        case optional
    }

    public static func grammar(tools: [Tool], mode: Mode) throws -> Grammar {
        guard !tools.isEmpty else { throw GrammarError("a tool-call grammar needs at least one tool") }
        var c = JSONSchemaCompiler(strict: true, root: .null)
        // Free text is one shared rule: its token tables (a walk of the whole vocabulary per state) are then
        // computed once, not once per string parameter (20 tools: 4.2 s → well under 0.1 s).
        var shared = c.builder
        let text = shared.add("parameter-text", .textAvoiding(Array("</parameter>".utf8)))
        c = JSONSchemaCompiler(strict: true, root: .null, builder: shared)
        var calls: [Expr] = []
        for tool in tools {
            calls.append(try call(tool, text: text, &c))
        }
        var b = c.builder
        let call = b.add("tool-call", .alt(calls))
        let many = Expr.seq([.rule(call), .star(.seq([.lit("\n"), .rule(call)]))])
        let root: Expr
        switch mode {
        case .required: root = many
        case .one: root = .rule(call)
        case .optional: root = .seq([.textAvoiding(Array("<tool_call>".utf8)), .opt(many)])
        }
        let id = b.add("root", root)
        return try b.build(root: id)
    }

    static func call(_ tool: Tool, text: Int, _ c: inout JSONSchemaCompiler) throws -> Expr {
        var parts: [Expr] = [.lit("<tool_call>\n<function=\(tool.name)>\n")]
        let schema = tool.parameters ?? .object([])
        // The tool's own $defs resolve against its parameters schema.
        var local = JSONSchemaCompiler(strict: true, root: schema, builder: c.builder)
        let required = Set((schema["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        for (name, sub) in schema["properties"]?.objectValue ?? [] {
            let value = try self.value(sub, path: "tools.\(tool.name).\(name)", text: text, &local)
            let p = Expr.seq([.lit("<parameter=\(name)>\n"), value, .lit("\n</parameter>\n")])
            parts.append(required.contains(name) ? p : .opt(p))
        }
        c = JSONSchemaCompiler(strict: true, root: .null, builder: local.builder)
        parts.append(.lit("</function>\n</tool_call>"))
        return .seq(parts)
    }

    /// How the parser reads the value: text when the first listed type is a string (`ArgumentTypes.isString`),
    /// else JSON.
    static func value(_ schema: JSONValue, path: String, text: Int, _ c: inout JSONSchemaCompiler) throws -> Expr {
        var s = schema
        while let ref = s["$ref"]?.stringValue, ref.hasPrefix("#/"), let target = c.resolve(ref) { s = target }
        let firstType = s["type"]?.stringValue ?? s["type"]?.arrayValue?.first?.stringValue
        let stringLike = firstType == "string" || (firstType == nil && s["enum"]?.arrayValue?.first?.stringValue != nil)
        guard stringLike else { return try c.compile(s, path: path) }
        if let values = s["enum"]?.arrayValue {
            return .alt(values.map { .lit($0.stringValue ?? $0.serialized()) })
        }
        let minLength = s["minLength"]?.intValue, maxLength = s["maxLength"]?.intValue
        for k in ["minLength", "maxLength"] where s[k] != nil && (s[k]?.intValue ?? -1) < 0 {
            throw GrammarError("'\(k)' at \(path) must be a non-negative integer")
        }
        var regex: String?
        if let p = s["pattern"] {
            guard let text = p.stringValue else { throw GrammarError("'pattern' at \(path) must be a string") }
            regex = text
        }
        if let f = s["format"] {
            guard let name = f.stringValue, let format = JSONSchemaCompiler.formats[name] else {
                throw GrammarError("unsupported 'format' \(f.serialized()) at \(path) (supported: \(JSONSchemaCompiler.formats.keys.sorted().joined(separator: ", ")))")
            }
            guard regex == nil else { throw GrammarError("'pattern' combined with 'format' at \(path) is not supported") }
            regex = format
        }
        if let regex {
            guard minLength == nil && maxLength == nil else {
                throw GrammarError("'pattern'/'format' combined with 'minLength'/'maxLength' at \(path) is not supported")
            }
            // The text as written (no JSON escapes); `<` only where the pattern writes it.
            return try RegexCompiler.compile(regex, raw: true)
        }
        if minLength != nil || maxLength != nil {
            if let minLength, let maxLength, maxLength < minLength { throw GrammarError("'maxLength' < 'minLength' at \(path)") }
            return .rep(RegexCompiler.rawAny, min: minLength ?? 0, max: maxLength)
        }
        return .rule(text)
    }
}
