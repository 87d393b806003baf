/// JSON text as Python's `json.dumps` writes it (`tojson`, `serialized()`): object order kept, floats as
/// `repr(float)`, configurable separators and indent. Byte-identical output matters because chat templates
/// put `tojson` output into prompts, and the golden prompts come from Python.
public enum JSONWriter {
    /// `repr(float)`: shortest round-trip digits; exponent form when the decimal exponent is < -4 or
    /// >= 16 (CPython `float_repr_style='short'`, mode 'r').
    public static func floatRepr(_ d: Double) -> String {
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

    /// `json.dumps` string escaping with `ensure_ascii=False`.
    public static func jsonString(_ s: String, into out: inout String) {
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
                if c.value < 0x20 { out += "\\u" + hex4(c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        out += "\""
    }

    /// `ensure_ascii=True`: non-ASCII as `\uXXXX` (UTF-16 surrogate pairs above the BMP). Only string
    /// contents can hold non-ASCII, so escaping the finished text is equivalent.
    public static func asciiEscaped(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            if c.isASCII { out.unicodeScalars.append(c); continue }
            for unit in String(c).utf16 { out += "\\u" + hex4(UInt32(unit)) }
        }
        return out
    }

    /// `json.dumps` float text: `repr`, with `NaN`/`Infinity` spelled as Python's json module does.
    public static func jsonFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return floatRepr(d)
    }

    /// `json.dumps(value, ensure_ascii=False, separators=(item, key), indent=indent)`.
    public static func write(_ v: JSONValue, into out: inout String, itemSeparator: String = ", ",
                          keySeparator: String = ": ", indent: String? = nil, level: Int = 0) {
        func newline(_ lvl: Int) {
            if let indent { out += "\n" + String(repeating: indent, count: lvl) }
        }
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .bigInt(let digits): out += digits
        case .double(let d): out += jsonFloat(d)
        case .string(let s): jsonString(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1)
                write(item, into: &out, itemSeparator: itemSeparator, keySeparator: keySeparator,
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
                write(item, into: &out, itemSeparator: itemSeparator, keySeparator: keySeparator,
                          indent: indent, level: level + 1)
            }
            newline(level)
            out += "}"
        }
    }

    private static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }
}
