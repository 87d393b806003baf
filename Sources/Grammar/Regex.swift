import Foundation

/// A regular-expression subset (`pattern` in JSON Schema, and the `format`s) compiled to the bytes of a JSON
/// string's content.
///
/// Supported: literals; `.`; escapes `\d \D \w \W \s \S` and escaped punctuation (`\.`, `\-`, `\\`, …);
/// classes `[a-z0-9_]`, `[^…]` (ranges over ASCII; a negated class also admits every non-ASCII character);
/// groups `(…)` and `(?:…)`; alternation `|`; quantifiers `* + ? {n} {n,} {n,m}`; `^` and `$` as anchors at the
/// ends. As in JSON Schema, a pattern without `^`/`$` matches anywhere in the string. Not supported (an error
/// that names it): backreferences, lookaround, lazy or possessive quantifiers, `\p{…}`, `\b`, anchors inside.
/// Characters JSON must escape are written escaped (`"` as `\"`, `\` as `\\`); control characters never match.
struct RegexCompiler {
    private let chars: [Unicode.Scalar]
    private var i = 0
    private let source: String

    static func compile(_ pattern: String) throws -> Expr {
        var r = RegexCompiler(chars: Array(pattern.unicodeScalars), source: pattern)
        let anchoredStart = r.peek == "^"
        if anchoredStart { r.i += 1 }
        let body = try r.alternation()
        var anchoredEnd = false
        if r.peek == "$" { anchoredEnd = true; r.i += 1 }
        guard r.i == r.chars.count else { throw r.error("unexpected '\(r.chars[r.i])'") }
        let any = Expr.star(JSONPieces.stringChar)
        return .seq((anchoredStart ? [] : [any]) + [body] + (anchoredEnd ? [] : [any]))
    }

    private init(chars: [Unicode.Scalar], source: String) {
        self.chars = chars
        self.source = source
    }

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
            guard let lo = Int(parts[0]), parts.count <= 2 else { throw error("bad quantifier {\(text)}") }
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
        case ".": return JSONPieces.stringChar
        case "[": return try charClass()
        case "\\": return try escape(inClass: false).expr
        case "^", "$": throw error("anchor '\(c)' inside the pattern")
        case "*", "+", "?", "{": throw error("quantifier '\(c)' with nothing before it")
        default: return Self.literal(c)
        }
    }

    /// A character as the bytes of JSON string content.
    static func literal(_ c: Unicode.Scalar) -> Expr {
        if c == "\"" { return .lit("\\\"") }
        if c == "\\" { return .lit("\\\\") }
        return .bytes(Array(String(c).utf8))
    }

    /// A set of ASCII bytes plus, optionally, every non-ASCII scalar.
    private struct CharSet {
        var ascii = [Bool](repeating: false, count: 128)
        var nonASCII = false
        mutating func add(_ lo: UInt8, _ hi: UInt8) { for b in lo...hi { ascii[Int(b)] = true } }
        func negated() -> CharSet {
            var n = CharSet()
            for b in 0..<128 { n.ascii[b] = !ascii[b] }
            n.nonASCII = !nonASCII
            return n
        }
        var expr: Expr {
            var ranges: [ClosedRange<UInt8>] = []
            var options: [Expr] = []
            for b in 0x20..<0x80 where ascii[b] {
                if b == 0x22 { options.append(.lit("\\\"")); continue }
                if b == 0x5C { options.append(.lit("\\\\")); continue }
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
    /// Only the space: tab and newline would be escapes in JSON content.
    private static let spaces = set { $0.add(0x20, 0x20) }

    private mutating func escape(inClass: Bool) throws -> (expr: Expr, set: CharSet?) {
        guard let c = peek else { throw error("trailing backslash") }
        i += 1
        switch c {
        case "d": return (Self.digits.expr, Self.digits)
        case "D": return (Self.digits.negated().expr, Self.digits.negated())
        case "w": return (Self.word.expr, Self.word)
        case "W": return (Self.word.negated().expr, Self.word.negated())
        case "s": return (Self.spaces.expr, Self.spaces)
        case "S": return (Self.spaces.negated().expr, Self.spaces.negated())
        default:
            guard c.isASCII, !c.properties.isAlphabetic, !("0"..."9").contains(c) else { throw error("escape '\\\(c)'") }
            var s = CharSet()
            s.add(UInt8(c.value), UInt8(c.value))
            return (Self.literal(c), s)
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
                let (_, escaped) = try escape(inClass: true)
                guard let escaped else { throw error("escape in class") }
                if escaped.ascii.filter({ $0 }).count != 1 || escaped.nonASCII {
                    for b in 0..<128 where escaped.ascii[b] { s.ascii[b] = true }
                    s.nonASCII = s.nonASCII || escaped.nonASCII
                    continue
                }
                lo = Unicode.Scalar(UInt8(escaped.ascii.firstIndex(of: true)!))
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
        return (negate ? s.negated() : s).expr
    }
}
