import Foundation

/// An error from parsing, loading or rendering a template; positions are 1-based template line:column.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The template does not parse.
        case syntax(message: String, line: Int, column: Int)
        /// Evaluation failed (type error, undefined value, unsafe call, …).
        case runtime(message: String, line: Int, column: Int)
        /// The template called `raise_exception(message)`; `message` is exactly its text.
        case raised(message: String, line: Int, column: Int)
        case unknownFilter(name: String, line: Int, column: Int)
        case unknownTest(name: String, line: Int, column: Int)
        /// The inputs were rejected before rendering (e.g. an empty conversation, like transformers).
        case invalidInput(message: String)
        /// No template could be found or read.
        case load(message: String)
        /// Rendering went past a `TemplateLimits` bound at no particular position (the output size).
        case limit(message: String)
    }

    /// Template name (file name or the `name` given at init).
    public var template: String
    public var kind: Kind

    public init(template: String, kind: Kind) {
        self.template = template
        self.kind = kind
    }

    /// The message alone, without position (for `raised`: exactly the template's text).
    public var message: String {
        switch kind {
        case .syntax(let m, _, _), .runtime(let m, _, _), .raised(let m, _, _): return m
        case .unknownFilter(let n, _, _): return "No filter named '\(n)'."
        case .unknownTest(let n, _, _): return "No test named '\(n)'."
        case .invalidInput(let m), .load(let m), .limit(let m): return m
        }
    }

    /// The `raise_exception` text when the template raised, else nil.
    public var raisedMessage: String? {
        if case .raised(let m, _, _) = kind { return m }
        return nil
    }

    /// (line, column) when the error has a template position.
    public var position: (line: Int, column: Int)? {
        switch kind {
        case .syntax(_, let l, let c), .runtime(_, let l, let c), .raised(_, let l, let c),
             .unknownFilter(_, let l, let c), .unknownTest(_, let l, let c):
            return (l, c)
        case .invalidInput, .load, .limit: return nil
        }
    }

    public var description: String {
        let location = position.map { "\(template):\($0.line):\($0.column): " } ?? "\(template): "
        switch kind {
        case .syntax: return location + "syntax error: " + message
        case .runtime: return location + "error: " + message
        case .raised: return location + "template raised: " + message
        case .unknownFilter, .unknownTest: return location + message
        case .invalidInput: return location + "invalid input: " + message
        case .load: return location + "cannot load template: " + message
        case .limit: return location + "error: " + message
        }
    }
}

/// Keyword arguments of `apply_chat_template`.
public struct ChatTemplateOptions: Sendable {
    public var addGenerationPrompt: Bool = true
    /// nil = not passed to the template (undefined), like omitting the kwarg in transformers.
    public var enableThinking: Bool? = nil
    /// Any extra template variables (e.g. `add_vision_id`), set after the standard ones.
    public var extra: [(String, JSONValue)] = []

    public init() {}

    public init(addGenerationPrompt: Bool, enableThinking: Bool? = nil, extra: [(String, JSONValue)] = []) {
        self.addGenerationPrompt = addGenerationPrompt
        self.enableThinking = enableThinking
        self.extra = extra
    }
}

/// Parsed template tree; immutable after parsing, so it is safe to share.
final class CompiledTemplate: @unchecked Sendable {
    let nodes: [Node]
    init(nodes: [Node]) { self.nodes = nodes }
}

/// A parsed Jinja chat template rendering like transformers' `apply_chat_template` (jinja2 with
/// `trim_blocks`, `lstrip_blocks`, sandboxed, `tojson` = `json.dumps(ensure_ascii=False)`).
public struct ChatTemplate: Sendable {
    public let name: String
    public let source: String
    /// Bounds on parsing and on every render (see `TemplateLimits`).
    public let limits: TemplateLimits
    let compiled: CompiledTemplate

    /// Parses `source`; a syntax error, unknown filter or unknown test throws `TemplateError` with line:column.
    public init(source: String, name: String = "chat_template", limits: TemplateLimits = .default) throws {
        var lexer = Lexer(source: source, name: name)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, name: name, maxDepth: limits.maxNestingDepth)
        let nodes = try parser.parseTemplate()
        try Validator(template: name).check(nodes)
        self.name = name
        self.source = source
        self.limits = limits
        self.compiled = CompiledTemplate(nodes: nodes)
    }

    /// Renders with arbitrary variables (no chat-specific checks).
    public func render(variables: [(String, JSONValue)]) throws -> String {
        let scope = Scope(parent: nil)
        for (k, v) in variables { scope.vars[k] = Value(json: v) }
        return try render(scope: scope)
    }

    func render(scope: Scope) throws -> String {
        let interpreter = Interpreter(templateName: name, limits: limits)
        var out = ""
        _ = try interpreter.render(compiled.nodes, scope, &out)
        return out
    }

    /// Renders a conversation like `tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, **options)`.
    /// - Parameter specialTokens: e.g. `["eos_token": "<|im_end|>"]`, visible as template variables.
    public func render(messages: [JSONValue], tools: [JSONValue]?, options: ChatTemplateOptions,
                       specialTokens: [String: String] = [:]) throws -> String {
        guard !messages.isEmpty else {
            throw TemplateError(template: name, kind: .invalidInput(
                message: "Cannot apply chat template to an empty conversation. Provide at least one message."))
        }
        let scope = Scope(parent: nil)
        for (k, v) in specialTokens { scope.vars[k] = .string(v) }
        scope.vars["messages"] = .list(messages.map(Value.init(json:)))
        scope.vars["tools"] = tools.map { .list($0.map(Value.init(json:))) } ?? .none
        scope.vars["documents"] = Value.none
        scope.vars["add_generation_prompt"] = .bool(options.addGenerationPrompt)
        if let thinking = options.enableThinking { scope.vars["enable_thinking"] = .bool(thinking) }
        for (k, v) in options.extra { scope.vars[k] = Value(json: v) }
        return try render(scope: scope)
    }

    /// Renders typed messages (see `ChatMessage.json` for the dict each becomes).
    public func render(chat messages: [ChatMessage], tools: [JSONValue]? = nil, options: ChatTemplateOptions = ChatTemplateOptions(),
                       specialTokens: [String: String] = [:]) throws -> String {
        try render(messages: messages.map(\.json), tools: tools, options: options, specialTokens: specialTokens)
    }

    /// Finds a model's chat template: `explicitPath` when given (absolute, else relative to the working
    /// directory, else to `directory`); otherwise `chat_template.jinja` in `directory`; otherwise
    /// `tokenizer_config.json`'s `chat_template` (a string, or a list of `{name, template}` → "default").
    public static func load(directory: URL, explicitPath: String? = nil) throws -> ChatTemplate {
        func read(_ url: URL) throws -> String {
            do { return try InputFile.readText(url.path) } catch let e as InputFileError {
                throw TemplateError(template: url.lastPathComponent, kind: .load(message: e.description))
            }
        }
        let fm = FileManager.default
        if let explicitPath {
            var url = URL(fileURLWithPath: explicitPath)
            if !explicitPath.hasPrefix("/") && !fm.fileExists(atPath: url.path) {
                url = directory.appendingPathComponent(explicitPath)
            }
            return try ChatTemplate(source: try read(url), name: url.lastPathComponent)
        }
        let jinjaURL = directory.appendingPathComponent("chat_template.jinja")
        if fm.fileExists(atPath: jinjaURL.path) {
            return try ChatTemplate(source: try read(jinjaURL), name: "chat_template.jinja")
        }
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        guard fm.fileExists(atPath: configURL.path) else {
            throw TemplateError(template: directory.path, kind: .load(
                message: "no chat_template.jinja or tokenizer_config.json in \(directory.path)"))
        }
        let config: JSONValue
        do { config = try JSONValue.parse(try read(configURL)) } catch let e as JSONParseError {
            throw TemplateError(template: "tokenizer_config.json", kind: .load(message: "\(configURL.path): \(e)"))
        }
        switch config["chat_template"] {
        case .string(let s)?:
            return try ChatTemplate(source: s, name: "tokenizer_config.json:chat_template")
        case .array(let list)?:
            for entry in list where entry["name"]?.stringValue == "default" {
                guard let s = entry["template"]?.stringValue else { break }
                return try ChatTemplate(source: s, name: "tokenizer_config.json:chat_template[default]")
            }
            throw TemplateError(template: "tokenizer_config.json", kind: .load(
                message: "\(configURL.path): chat_template list has no entry named \"default\" with a string template"))
        default:
            throw TemplateError(template: "tokenizer_config.json", kind: .load(
                message: "\(configURL.path) has no \"chat_template\" (string or list) and there is no chat_template.jinja"))
        }
    }
}
