import Foundation

/// A regular-expression subset (`pattern` in JSON Schema, and the `format`s) compiled to the bytes of a JSON
/// string's content, or (`raw`) to text as written: the value of a tool-call `<parameter=…>`.
///
/// Supported: literals; `.`; escapes `\d \D \w \W \s \S` and escaped punctuation (`\.`, `\-`, `\\`, …);
/// classes `[a-z0-9_]`, `[^…]` (ranges over ASCII; a negated class also admits every non-ASCII character);
/// groups `(…)` and `(?:…)`; alternation `|`; quantifiers `* + ? {n} {n,} {n,m}`; `^` and `$` as anchors at the
/// ends. As in JSON Schema, a pattern without `^`/`$` matches anywhere in the string. Not supported (an error
/// that names it): backreferences, lookaround, lazy or possessive quantifiers, `\p{…}`, `\b`, anchors inside.
/// Characters JSON must escape are written escaped (`"` as `\"`, `\` as `\\`); control characters never match.
///
/// Raw text differs in three ways: characters are their own bytes (no escapes); `\s` and negated sets also match
/// tab, newline and carriage return (`.` all but newline); and `.`, negated sets (`[^…]`, `\D \W \S`) and an
/// unanchored end never produce `<`, so that the value cannot contain the `</parameter>` that ends it (a `<`
/// written in the pattern, as a literal or in a positive class, is kept).
struct RegexCompiler {
    private let chars: [Unicode.Scalar]
    private var i = 0
    private let source: String
    private let raw: Bool

    static func compile(_ pattern: String, raw: Bool = false) throws -> Expr {
        var r = RegexCompiler(chars: Array(pattern.unicodeScalars), source: pattern, raw: raw)
        let anchoredStart = r.peek == "^"
        if anchoredStart { r.i += 1 }
        let body = try r.alternation()
        var anchoredEnd = false
        if r.peek == "$" { anchoredEnd = true; r.i += 1 }
        guard r.i == r.chars.count else { throw r.error("unexpected '\(r.chars[r.i])'") }
        let any = Expr.star(raw ? Self.rawAny : JSONPieces.stringChar)
        return .seq((anchoredStart ? [] : [any]) + [body] + (anchoredEnd ? [] : [any]))
    }

    private init(chars: [Unicode.Scalar], source: String, raw: Bool) {
        self.chars = chars
        self.source = source
        self.raw = raw
    }

    /// Raw text: any character but control characters other than tab, newline, carriage return, and but `<`.
    static let rawAny = Expr.alt([.byteClass([0x09...0x0A, 0x0D...0x0D, 0x20...0x3B, 0x3D...0x7F]), JSONPieces.utf8NonASCII])
    /// Raw `.`: as `rawAny` without newline and carriage return.
    static let rawDot = Expr.alt([.byteClass([0x09...0x09, 0x20...0x3B, 0x3D...0x7F]), JSONPieces.utf8NonASCII])

    private var peek: Unicode.Scalar? { i < chars.count ? chars[i] : nil }

    private func error(_ what: String) -> GrammarError {
        GrammarError("pattern \"\(source)\": \(what) at offset \(i) (supported: literals, ., classes, groups, |, * + ? {n,m}, \\d \\w \\s, ^ $ at the ends)")
    }

    private mutating func alternation() throws -> Expr {
        var options = [try sequence()]
        while peek == "|" {
            i += 1
            options.append(try sequence())
        }
        return options.count == 1 ? options[0] : .alt(options)
    }

    private mutating func sequence() throws -> Expr {
        var parts: [Expr] = []
        while let c = peek, c != "|", c != ")" {
            if c == "$" && i == chars.count - 1 { break }
            var atom = try self.atom()
            while let q = peek, "*+?{".unicodeScalars.contains(q) {
                let (lo, hi) = try quantifier()
                atom = .rep(atom, min: lo, max: hi)
                if let lazy = peek, lazy == "?" || lazy == "+" { throw error("lazy or possessive quantifier '\(lazy)'") }
            }
            parts.append(atom)
        }
        return parts.count == 1 ? parts[0] : .seq(parts)
    }

    private mutating func quantifier() throws -> (Int, Int?) {
        let q = chars[i]
        i += 1
        switch q {
        case "*": return (0, nil)
        case "+": return (1, nil)
        case "?": return (0, 1)
        default:
            var text = ""
            while let c = peek, c != "}" { text.unicodeScalars.append(c); i += 1 }
            guard peek == "}" else { throw error("unterminated {") }
            i += 1
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            // Counts are digits only: `Int` would also read "-2" or "+2", and a negative count is no repetition.
            guard parts.count <= 2, parts.allSatisfy({ $0.unicodeScalars.allSatisfy { ("0"..."9").contains($0) } }),
                  let lo = Int(parts[0]) else { throw error("bad quantifier {\(text)}") }
            if parts.count == 1 { return (lo, lo) }
            if parts[1].isEmpty { return (lo, nil) }
            guard let hi = Int(parts[1]), hi >= lo else { throw error("bad quantifier {\(text)}") }
            return (lo, hi)
        }
    }

    private mutating func atom() throws -> Expr {
        let c = chars[i]
        i += 1
        switch c {
        case "(":
            if peek == "?" {
                guard i + 1 < chars.count, chars[i + 1] == ":" else { throw error("lookaround or named group") }
                i += 2
            }
            let inner = try alternation()
            guard peek == ")" else { throw error("unclosed group") }
            i += 1
            return inner
        case ".": return raw ? Self.rawDot : JSONPieces.stringChar
        case "[": return try charClass()
        case "\\": return try escape().expr(raw: raw)
        case "^", "$": throw error("anchor '\(c)' inside the pattern")
        case "*", "+", "?", "{": throw error("quantifier '\(c)' with nothing before it")
        default: return Self.literal(c, raw: raw)
        }
    }

    /// A character as the bytes of JSON string content (or as itself, `raw`).
    static func literal(_ c: Unicode.Scalar, raw: Bool) -> Expr {
        if !raw && c == "\"" { return .lit("\\\"") }
        if !raw && c == "\\" { return .lit("\\\\") }
        return .bytes(Array(String(c).utf8))
    }

    /// A set of ASCII bytes plus, optionally, every non-ASCII scalar.
    private struct CharSet {
        var ascii = [Bool](repeating: false, count: 128)
        var nonASCII = false
        /// Built by negation: in raw text it never admits `<` (see the type's comment).
        var open = false
        mutating func add(_ lo: UInt8, _ hi: UInt8) { for b in lo...hi { ascii[Int(b)] = true } }
        mutating func formUnion(_ other: CharSet) {
            for b in 0..<128 where other.ascii[b] { ascii[b] = true }
            nonASCII = nonASCII || other.nonASCII
            open = open || other.open
        }
        func negated() -> CharSet {
            var n = CharSet()
            for b in 0..<128 { n.ascii[b] = !ascii[b] }
            n.nonASCII = !nonASCII
            n.open = true
            return n
        }
        /// The one ASCII byte of a single-character set.
        var single: UInt8? {
            let members = (0..<128).filter { ascii[$0] }
            return members.count == 1 && !nonASCII ? UInt8(members[0]) : nil
        }
        func expr(raw: Bool) -> Expr {
            var ranges: [ClosedRange<UInt8>] = []
            var options: [Expr] = []
            for b in 0..<0x80 where ascii[b] {
                if raw {
                    // Control characters: only tab, newline, carriage return; `<` only when asked for.
                    guard b >= 0x20 || b == 0x09 || b == 0x0A || b == 0x0D, !(open && b == 0x3C) else { continue }
                } else {
                    guard b >= 0x20 else { continue }
                    if b == 0x22 { options.append(.lit("\\\"")); continue }
                    if b == 0x5C { options.append(.lit("\\\\")); continue }
                }
                if let last = ranges.last, Int(last.upperBound) == b - 1 { ranges[ranges.count - 1] = last.lowerBound...UInt8(b) }
                else { ranges.append(UInt8(b)...UInt8(b)) }
            }
            if !ranges.isEmpty { options.insert(.byteClass(ranges), at: 0) }
            if nonASCII { options.append(JSONPieces.utf8NonASCII) }
            return options.count == 1 ? options[0] : .alt(options)
        }
    }

    private static func set(_ build: (inout CharSet) -> Void) -> CharSet { var s = CharSet(); build(&s); return s }
    private static let digits = set { $0.add(0x30, 0x39) }
    private static let word = set { $0.add(0x30, 0x39); $0.add(0x41, 0x5A); $0.add(0x61, 0x7A); $0.add(0x5F, 0x5F) }
    /// Only the space in JSON content (tab and newline would be escapes there); raw text has them all.
    private var spaces: CharSet {
        Self.set { s in
            s.add(0x20, 0x20)
            if raw { s.add(0x09, 0x0A); s.add(0x0D, 0x0D) }
        }
    }

    private mutating func escape() throws -> CharSet {
        guard let c = peek else { throw error("trailing backslash") }
        i += 1
        switch c {
        case "d": return Self.digits
        case "D": return Self.digits.negated()
        case "w": return Self.word
        case "W": return Self.word.negated()
        case "s": return spaces
        case "S": return spaces.negated()
        default:
            guard c.isASCII, !c.properties.isAlphabetic, !("0"..."9").contains(c) else { throw error("escape '\\\(c)'") }
            var s = CharSet()
            s.add(UInt8(c.value), UInt8(c.value))
            return s
        }
    }

    private mutating func charClass() throws -> Expr {
        var s = CharSet()
        let negate = peek == "^"
        if negate { i += 1 }
        var first = true
        while let c = peek, c != "]" || first {
            first = false
            i += 1
            var lo: Unicode.Scalar = c
            if c == "\\" {
                let escaped = try escape()
                guard let one = escaped.single else {
                    s.formUnion(escaped)
                    continue
                }
                lo = Unicode.Scalar(one)
            }
            var hi = lo
            if peek == "-", i + 1 < chars.count, chars[i + 1] != "]" {
                i += 1
                hi = chars[i]
                i += 1
                if hi == "\\" { hi = chars[i]; i += 1 }
            }
            guard lo.isASCII && hi.isASCII else {
                throw error("non-ASCII character in a class")
            }
            guard lo.value <= hi.value else { throw error("reversed range") }
            s.add(UInt8(lo.value), UInt8(hi.value))
        }
        guard peek == "]" else { throw error("unclosed class") }
        i += 1
        return (negate ? s.negated() : s).expr(raw: raw)
    }
}
