/// The lexical pieces of JSON as grammar expressions, shared by the JSON Schema front end, `json_object` and the
/// tool-call grammar.
///
/// Whitespace is bounded on purpose: none anywhere except one optional space after `,` and `:` (what
/// `json.dumps` writes), so a weak or random model cannot spend its budget on spaces. Numbers are bounded too
/// (at most 16 integer digits, 16 fraction digits, 3 exponent digits) for the same reason.
enum JSONPieces {
    static func range(_ lo: Character, _ hi: Character) -> ClosedRange<UInt8> { lo.asciiValue! ... hi.asciiValue! }
    static let digit = Expr.byteClass([range("0", "9")])
    static let nonZeroDigit = Expr.byteClass([range("1", "9")])
    static let hexDigit = Expr.byteClass([range("0", "9"), range("a", "f"), range("A", "F")])
    /// One optional space (after `,` and `:`).
    static let space = Expr.opt(.lit(" "))

    /// One non-ASCII scalar in well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), so
    /// that a length bound counts what the detokenizer will produce.
    static let utf8NonASCII = Expr.alt([
        .seq([.byteClass([0xC2...0xDF]), cont]),
        .seq([.byteClass([0xE0...0xE0]), .byteClass([0xA0...0xBF]), cont]),
        .seq([.byteClass([0xE1...0xEC, 0xEE...0xEF]), cont, cont]),
        .seq([.byteClass([0xED...0xED]), .byteClass([0x80...0x9F]), cont]),
        .seq([.byteClass([0xF0...0xF0]), .byteClass([0x90...0xBF]), cont, cont]),
        .seq([.byteClass([0xF1...0xF3]), cont, cont, cont]),
        .seq([.byteClass([0xF4...0xF4]), .byteClass([0x80...0x8F]), cont, cont]),
    ])
    private static let cont = Expr.byteClass([0x80...0xBF])

    /// One character of a JSON string's content: unescaped printable, an escape, or a UTF-8 scalar.
    static let stringChar = Expr.alt([
        .byteClass([0x20...0x21, 0x23...0x5B, 0x5D...0x7F]),
        .seq([.lit("\\"), .alt([.byteClass(Array("\"\\/bfnrt".utf8).map { $0...$0 }), .seq([.lit("u"), hexDigit, hexDigit, hexDigit, hexDigit])])]),
        utf8NonASCII,
    ])

    static func digits(_ min: Int, _ max: Int) -> Expr { .rep(digit, min: min, max: max) }

    /// `-?(0|[1-9][0-9]{0,15})`
    static let integer = Expr.seq([.opt(.lit("-")), .alt([.lit("0"), .seq([nonZeroDigit, digits(0, 15)])])])
    /// An integer with an optional fraction and exponent.
    static let number = Expr.seq([
        integer,
        .opt(.seq([.lit("."), digits(1, 16)])),
        .opt(.seq([.byteClass([range("e", "e"), range("E", "E")]), .opt(.byteClass([range("+", "+"), range("-", "-")])), digits(1, 3)])),
    ])

    /// `{ "key": value, … }` with `pair` for each member, or `[ item, … ]`.
    static func delimitedList(open: String, _ item: Expr, close: String) -> Expr {
        .seq([.lit(open), .opt(.seq([item, .star(.seq([.lit(","), space, item]))])), .lit(close)])
    }

    /// Rules for any JSON value; returns the value rule's id.
    static func anyValue(_ b: inout GrammarBuilder) -> Int {
        let value = b.declare("json-value")
        let string = b.add("json-string", .seq([.lit("\""), .star(stringChar), .lit("\"")]))
        let member = Expr.seq([.rule(string), .lit(":"), space, .rule(value)])
        let object = b.add("json-object", delimitedList(open: "{", member, close: "}"))
        let array = b.add("json-array", delimitedList(open: "[", .rule(value), close: "]"))
        b.define(value, .alt([.rule(object), .rule(array), .rule(string), number, .lit("true"), .lit("false"), .lit("null")]))
        return value
    }

    /// Any JSON object (`response_format: {"type": "json_object"}`).
    public static func anyObjectGrammar() throws -> Grammar {
        var b = GrammarBuilder()
        let root = b.declare("root")
        _ = anyValue(&b)
        b.define(root, .rule(b.names.firstIndex(of: "json-object")!))
        return try b.build(root: root)
    }
}

extension Grammar {
    /// Any JSON object (`{"type": "json_object"}`), compact or with single spaces after `,` and `:`.
    public static func jsonObject() throws -> Grammar { try JSONPieces.anyObjectGrammar() }
}
