import Foundation

/// Python's text forms: `repr(float)`, `repr(str)` and `json.dumps(ensure_ascii=False)`.
enum PythonFormat {
    /// `repr(float)`: shortest round-trip digits; exponent form when the decimal exponent is < -4 or
    /// >= 16 (CPython `float_repr_style='short'`, mode 'r').
    static func floatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description is also shortest round-trip; take its digits and exponent.
        let (negative, digits, decpt) = shortestDigits(d)
        var out = negative ? "-" : ""
        if decpt > -4 && decpt <= 16 {
            if decpt <= 0 {
                out += "0." + String(repeating: "0", count: -decpt) + digits
            } else if decpt >= digits.count {
                out += digits + String(repeating: "0", count: decpt - digits.count) + ".0"
            } else {
                let i = digits.index(digits.startIndex, offsetBy: decpt)
                out += digits[..<i] + "." + digits[i...]
            }
        } else {
            let exp = decpt - 1
            out += String(digits.first!)
            if digits.count > 1 { out += "." + digits.dropFirst() }
            out += (exp < 0 ? "e-" : "e+") + (abs(exp) < 10 ? "0" : "") + String(abs(exp))
        }
        return out
    }

    /// (sign, significant digits without leading/trailing zeros, decimal point position) such that
    /// |d| = 0.DIGITS × 10^decpt.
    private static func shortestDigits(_ d: Double) -> (Bool, String, Int) {
        var text = abs(d).description.lowercased()
        var exponent = 0
        if let e = text.firstIndex(of: "e") {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        var intPart = text, fracPart = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = String(text[..<dot]); fracPart = String(text[text.index(after: dot)...])
        }
        var digits = intPart + fracPart
        var decpt = intPart.count + exponent
        while digits.hasPrefix("0") { digits.removeFirst(); decpt -= 1 }
        while digits.hasSuffix("0") { digits.removeLast() }
        return (d < 0, digits, decpt)
    }

    /// Whether Python's `str.isprintable()` holds for this scalar (approximated by general category).
    static func isPrintable(_ s: Unicode.Scalar) -> Bool {
        if s == " " { return true }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default: return true
        }
    }

    /// `repr(str)`: single quotes unless the text has `'` and no `"`.
    static func stringRepr(_ s: String) -> String {
        let quote: Unicode.Scalar = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case quote, "\\": out += "\\" + String(c)
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if isPrintable(c) {
                    out.unicodeScalars.append(c)
                } else if c.value < 0x100 {
                    out += "\\x" + hex(c.value, width: 2)
                } else if c.value < 0x10000 {
                    out += "\\u" + hex(c.value, width: 4)
                } else {
                    out += "\\U" + hex(c.value, width: 8)
                }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }

    /// `json.dumps` string escaping with `ensure_ascii=False`.
    static func jsonString(_ s: String, into out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 { out += "\\u" + hex(c.value, width: 4) } else { out.unicodeScalars.append(c) }
            }
        }
        out += "\""
    }

    /// `ensure_ascii=True`: non-ASCII as `\uXXXX` (UTF-16 surrogate pairs above the BMP). Only string
    /// contents can hold non-ASCII, so escaping the finished text is equivalent.
    static func asciiEscaped(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            if c.isASCII { out.unicodeScalars.append(c); continue }
            for unit in String(c).utf16 { out += "\\u" + hex(UInt32(unit), width: 4) }
        }
        return out
    }

    /// `json.dumps` float text: `repr`, with `NaN`/`Infinity` spelled as Python's json module does.
    static func jsonFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return floatRepr(d)
    }

    /// `json.dumps(value, ensure_ascii=False, separators=(item, key), indent=indent)`.
    static func writeJSON(_ v: JSONValue, into out: inout String, itemSeparator: String = ", ",
                          keySeparator: String = ": ", indent: String? = nil, level: Int = 0) {
        func newline(_ lvl: Int) {
            if let indent { out += "\n" + String(repeating: indent, count: lvl) }
        }
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += jsonFloat(d)
        case .string(let s): jsonString(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1)
                writeJSON(item, into: &out, itemSeparator: itemSeparator, keySeparator: keySeparator,
                          indent: indent, level: level + 1)
            }
            newline(level)
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (k, item)) in members.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1)
                jsonString(k, into: &out)
                out += keySeparator
                writeJSON(item, into: &out, itemSeparator: itemSeparator, keySeparator: keySeparator,
                          indent: indent, level: level + 1)
            }
            newline(level)
            out += "}"
        }
    }
}
