import Foundation

/// A lexical token of a template, with its 1-based source position.
struct Token {
    enum Kind: Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case eof
    }
    let kind: Kind
    let line: Int
    let column: Int
}

/// Splits template source into text and tag tokens exactly like jinja2's lexer with
/// `trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False`:
/// - `{%-`/`{{-`/`{#-` strip all whitespace before the tag; `-%}`/`-}}`/`-#}` all whitespace after;
/// - lstrip_blocks: spaces/tabs from the line start up to a `{%` or `{#` are dropped (unless `{%+`);
/// - trim_blocks: one newline right after `%}` or `#}` is dropped (unless `+%}`).
struct Lexer {
    let src: [Unicode.Scalar]
    let name: String
    private var lineStarts: [Int] = [0]
    private var pos = 0
    private var tokens: [Token] = []
    private var lineStarting = true

    init(source: String, name: String) {
        // jinja2 normalises \r\n and \r to \n and drops one trailing newline. Done on the scalars in one
        // pass: Foundation's replacingOccurrences bridged through NSString and was a sixth of the jinja fuzz
        // target's time.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var afterCR = false
        for c in source.unicodeScalars {
            if c == "\n" && afterCR { afterCR = false; continue }
            afterCR = c == "\r"
            scalars.append(afterCR ? "\n" : c)
        }
        if scalars.last == "\n" { scalars.removeLast() }
        src = scalars
        self.name = name
        for (i, c) in src.enumerated() where c == "\n" { lineStarts.append(i + 1) }
    }

    func position(_ offset: Int) -> (Int, Int) {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return (lo + 1, offset - lineStarts[lo] + 1)
    }

    func syntaxError(_ message: String, at offset: Int) -> TemplateError {
        let (l, c) = position(offset)
        return TemplateError(template: name, kind: .syntax(message: message, line: l, column: c))
    }

    private mutating func emit(_ kind: Token.Kind, at offset: Int) {
        let (l, c) = position(offset)
        tokens.append(Token(kind: kind, line: l, column: c))
    }

    private func at(_ i: Int, _ s: String) -> Bool {
        var j = i
        for c in s.unicodeScalars {
            guard j < src.count, src[j] == c else { return false }
            j += 1
        }
        return true
    }

    private func string(_ r: Range<Int>) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: src[r])
        return String(s)
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    mutating func tokenize() throws -> [Token] {
        while pos < src.count {
            // Find the next tag start.
            var i = pos
            var found = false
            while i + 1 < src.count {
                if src[i] == "{" && (src[i + 1] == "{" || src[i + 1] == "%" || src[i + 1] == "#") { found = true; break }
                i += 1
            }
            if !found {
                emit(.text(string(pos..<src.count)), at: pos)
                pos = src.count
                break
            }
            let kindChar = src[i + 1]
            var sign: Unicode.Scalar? = nil
            if i + 2 < src.count, src[i + 2] == "-" || src[i + 2] == "+" { sign = src[i + 2] }
            var textEnd = i
            if sign == "-" {
                while textEnd > pos && Lexer.isSpace(src[textEnd - 1]) { textEnd -= 1 }
            } else if sign != "+" && kindChar != "{" {
                var lpos = textEnd
                while lpos > pos && src[lpos - 1] != "\n" { lpos -= 1 }
                let hasNewline = lpos > pos
                if (hasNewline || lineStarting) && lpos < textEnd && src[lpos..<textEnd].allSatisfy(Lexer.isSpace) {
                    textEnd = lpos
                }
            }
            if textEnd > pos { emit(.text(string(pos..<textEnd)), at: pos) }
            let tagStart = i
            pos = i + 2 + (sign == nil ? 0 : 1)
            switch kindChar {
            case "#": try lexComment(start: tagStart)
            case "{":
                emit(.variableBegin, at: tagStart)
                try lexExpression(start: tagStart, isBlock: false)
            default:
                if try lexRaw(start: tagStart) { continue }
                emit(.blockBegin, at: tagStart)
                try lexExpression(start: tagStart, isBlock: true)
            }
        }
        emit(.eof, at: src.count)
        return tokens
    }

    /// After a block/comment end: `-` eats all whitespace, `+` nothing, plain eats one newline.
    private mutating func consumeAfterEnd(minus: Bool, plus: Bool, trim: Bool) {
        if minus {
            while pos < src.count && Lexer.isSpace(src[pos]) { pos += 1 }
        } else if !plus && trim && pos < src.count && src[pos] == "\n" {
            pos += 1
        }
        lineStarting = pos > 0 && src[pos - 1] == "\n"
    }

    private mutating func lexComment(start: Int) throws {
        var i = pos
        while i < src.count {
            if at(i, "+#}") { pos = i + 3; consumeAfterEnd(minus: false, plus: true, trim: true); return }
            if at(i, "-#}") { pos = i + 3; consumeAfterEnd(minus: true, plus: false, trim: true); return }
            if at(i, "#}") { pos = i + 2; consumeAfterEnd(minus: false, plus: false, trim: true); return }
            i += 1
        }
        throw syntaxError("Missing end of comment tag", at: start)
    }

    /// `{% raw %}…{% endraw %}`: returns false when the block tag is not `raw`.
    private mutating func lexRaw(start: Int) throws -> Bool {
        var i = pos
        while i < src.count && Lexer.isSpace(src[i]) { i += 1 }
        guard at(i, "raw") else { return false }
        i += 3
        while i < src.count && Lexer.isSpace(src[i]) { i += 1 }
        if at(i, "-%}") {
            pos = i + 3
            while pos < src.count && Lexer.isSpace(src[pos]) { pos += 1 }
        } else if at(i, "%}") {
            pos = i + 2
        } else {
            return false
        }
        // Find {%[-+]? endraw [-+]?%}
        var j = pos
        while j + 1 < src.count {
            if src[j] == "{" && src[j + 1] == "%" {
                var k = j + 2
                var sign: Unicode.Scalar? = nil
                if k < src.count, src[k] == "-" || src[k] == "+" { sign = src[k]; k += 1 }
                while k < src.count && Lexer.isSpace(src[k]) { k += 1 }
                if at(k, "endraw") {
                    k += 6
                    while k < src.count && Lexer.isSpace(src[k]) { k += 1 }
                    var endSign: Unicode.Scalar? = nil
                    if k < src.count, src[k] == "-" || src[k] == "+" { endSign = src[k]; k += 1 }
                    if at(k, "%}") {
                        var textEnd = j
                        if sign == "-" {
                            while textEnd > pos && Lexer.isSpace(src[textEnd - 1]) { textEnd -= 1 }
                        } else if sign != "+" {
                            var lpos = textEnd
                            while lpos > pos && src[lpos - 1] != "\n" { lpos -= 1 }
                            if lpos > pos && lpos < textEnd && src[lpos..<textEnd].allSatisfy(Lexer.isSpace) {
                                textEnd = lpos
                            }
                        }
                        if textEnd > pos { emit(.text(string(pos..<textEnd)), at: pos) }
                        pos = k + 2
                        consumeAfterEnd(minus: endSign == "-", plus: endSign == "+", trim: true)
                        return true
                    }
                }
            }
            j += 1
        }
        throw syntaxError("Missing end of raw directive", at: start)
    }

    private static let operators = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*", "%", "~", "<", ">",
                                    "=", ".", ",", ":", "|", "(", ")", "[", "]", "{", "}", ";"]

    private mutating func lexExpression(start: Int, isBlock: Bool) throws {
        var balance: [Unicode.Scalar] = []
        while true {
            while pos < src.count && Lexer.isSpace(src[pos]) { pos += 1 }
            guard pos < src.count else {
                throw syntaxError("unexpected end of template, expected '\(isBlock ? "%}" : "}}")'", at: start)
            }
            if balance.isEmpty {
                if isBlock {
                    if at(pos, "+%}") { emit(.blockEnd, at: pos); pos += 3; consumeAfterEnd(minus: false, plus: true, trim: true); return }
                    if at(pos, "-%}") { emit(.blockEnd, at: pos); pos += 3; consumeAfterEnd(minus: true, plus: false, trim: true); return }
                    if at(pos, "%}") { emit(.blockEnd, at: pos); pos += 2; consumeAfterEnd(minus: false, plus: false, trim: true); return }
                } else {
                    if at(pos, "-}}") { emit(.variableEnd, at: pos); pos += 3; consumeAfterEnd(minus: true, plus: false, trim: false); return }
                    if at(pos, "}}") { emit(.variableEnd, at: pos); pos += 2; consumeAfterEnd(minus: false, plus: false, trim: false); return }
                }
            }
            let c = src[pos]
            let tokStart = pos
            if c == "_" || c.properties.isAlphabetic {
                while pos < src.count, src[pos] == "_" || src[pos].properties.isAlphabetic
                        || ("0"..."9").contains(src[pos]) { pos += 1 }
                emit(.name(string(tokStart..<pos)), at: tokStart)
            } else if ("0"..."9").contains(c) {
                try lexNumber()
            } else if c == "'" || c == "\"" {
                try lexString(quote: c)
            } else if let op = Lexer.operators.first(where: { at(pos, $0) }) {
                pos += op.unicodeScalars.count
                switch op {
                case "(": balance.append(")")
                case "[": balance.append("]")
                case "{": balance.append("}")
                case ")", "]", "}":
                    guard let expected = balance.popLast() else { throw syntaxError("unexpected '\(op)'", at: tokStart) }
                    if String(expected) != op {
                        throw syntaxError("unexpected '\(op)', expected '\(expected)'", at: tokStart)
                    }
                default: break
                }
                emit(.op(op), at: tokStart)
            } else {
                throw syntaxError("unexpected char '\(c)'", at: tokStart)
            }
        }
    }

    private mutating func lexNumber() throws {
        let start = pos
        func digits() { while pos < src.count, ("0"..."9").contains(src[pos]) || src[pos] == "_" { pos += 1 } }
        digits()
        var isFloat = false
        if pos + 1 < src.count, src[pos] == ".", ("0"..."9").contains(src[pos + 1]) {
            isFloat = true
            pos += 1
            digits()
        }
        if pos < src.count, src[pos] == "e" || src[pos] == "E" {
            var k = pos + 1
            if k < src.count, src[k] == "+" || src[k] == "-" { k += 1 }
            if k < src.count, ("0"..."9").contains(src[k]) {
                isFloat = true
                pos = k
                digits()
            }
        }
        let text = string(start..<pos).replacingOccurrences(of: "_", with: "")
        if isFloat {
            guard let d = Double(text) else { throw syntaxError("invalid number '\(text)'", at: start) }
            emit(.float(d), at: start)
        } else {
            guard let i = Int(text) else { throw syntaxError("integer too large '\(text)'", at: start) }
            emit(.integer(i), at: start)
        }
    }

    /// Python string-literal escapes (jinja2 decodes with `unicode-escape`).
    private mutating func lexString(quote: Unicode.Scalar) throws {
        let start = pos
        pos += 1
        var out = String.UnicodeScalarView()
        while true {
            guard pos < src.count else { throw syntaxError("unterminated string", at: start) }
            let c = src[pos]
            pos += 1
            if c == quote { break }
            guard c == "\\" else { out.append(c); continue }
            guard pos < src.count else { throw syntaxError("unterminated string", at: start) }
            let e = src[pos]
            pos += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "\n": break
            case "0"..."7":
                var v = e.value - 48, n = 1
                while n < 3, pos < src.count, ("0"..."7").contains(src[pos]) { v = v * 8 + src[pos].value - 48; pos += 1; n += 1 }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                guard pos + width <= src.count, let v = UInt32(string(pos..<pos + width), radix: 16),
                      let scalar = Unicode.Scalar(v) else {
                    throw syntaxError("invalid \\\(e) escape in string", at: pos - 2)
                }
                out.append(scalar)
                pos += width
            default:
                out.append("\\"); out.append(e)
            }
        }
        emit(.string(String(out)), at: start)
    }
}
