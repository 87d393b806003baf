import Foundation

/// A JSON value whose objects keep their key order.
///
/// Chat templates iterate dicts in insertion order and `tojson` must reproduce that order, which
/// `JSONSerialization` loses; hence this small self-contained parser.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    /// Ordered members (duplicate keys: the last one wins on lookup, like Python's `json.loads`).
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Member lookup on an object (last duplicate wins); nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    /// Element of an array; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e18: return Int(d)
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [(String, JSONValue)]? { if case .object(let o) = self { return o } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// Compact JSON (`,` and `:` without spaces), object order preserved, non-ASCII kept.
    public func serialized() -> String {
        var out = ""
        PythonFormat.writeJSON(self, into: &out, itemSeparator: ",", keySeparator: ":")
        return out
    }

    /// Parses UTF-8 JSON text.
    public static func parse(_ data: Data) throws -> JSONValue {
        guard let text = String(data: data, encoding: .utf8) else {
            throw JSONParseError(message: "input is not valid UTF-8", line: 1, column: 1)
        }
        return try parse(text)
    }

    /// Parses JSON text; errors name the line and column.
    public static func parse(_ text: String) throws -> JSONValue {
        var parser = JSONParser(scalars: Array(text.unicodeScalars))
        if parser.current == "\u{FEFF}" { parser.pos += 1 }  // tolerate a UTF-8 byte-order mark
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        if parser.pos < parser.scalars.count { throw parser.error("unexpected trailing characters") }
        return value
    }
}

/// A JSON syntax error with its 1-based position.
public struct JSONParseError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public var line: Int
    public var column: Int
    public var description: String { "JSON error at line \(line), column \(column): \(message)" }
}

private struct JSONParser {
    let scalars: [Unicode.Scalar]
    var pos = 0

    init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

    func error(_ message: String) -> JSONParseError {
        var line = 1, column = 1
        for s in scalars[0..<min(pos, scalars.count)] {
            if s == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return JSONParseError(message: message, line: line, column: column)
    }

    var current: Unicode.Scalar? { pos < scalars.count ? scalars[pos] : nil }

    mutating func skipWhitespace() {
        while let c = current, c == " " || c == "\n" || c == "\t" || c == "\r" { pos += 1 }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw error("nesting too deep") }
        guard let c = current else { throw error("unexpected end of input") }
        switch c {
        case "{":
            pos += 1
            var members: [(String, JSONValue)] = []
            skipWhitespace()
            if current == "}" { pos += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard current == "\"" else { throw error("expected a string key") }
                let key = try string()
                skipWhitespace()
                guard current == ":" else { throw error("expected ':' after object key") }
                pos += 1
                skipWhitespace()
                members.append((key, try value(depth: depth + 1)))
                skipWhitespace()
                if current == "," { pos += 1; continue }
                if current == "}" { pos += 1; return .object(members) }
                throw error("expected ',' or '}' in object")
            }
        case "[":
            pos += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if current == "]" { pos += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                if current == "," { pos += 1; continue }
                if current == "]" { pos += 1; return .array(items) }
                throw error("expected ',' or ']' in array")
            }
        case "\"": return .string(try string())
        case "t": try literal("true"); return .bool(true)
        case "f": try literal("false"); return .bool(false)
        case "n": try literal("null"); return .null
        case "-", "0"..."9": return try number()
        default: throw error("unexpected character '\(c)'")
        }
    }

    mutating func literal(_ word: String) throws {
        for s in word.unicodeScalars {
            guard current == s else { throw error("invalid literal, expected '\(word)'") }
            pos += 1
        }
    }

    mutating func number() throws -> JSONValue {
        let start = pos
        var isInteger = true
        if current == "-" { pos += 1 }
        guard let first = current, ("0"..."9").contains(first) else { throw error("invalid number") }
        if first == "0" { pos += 1 } else { while let c = current, ("0"..."9").contains(c) { pos += 1 } }
        if current == "." {
            isInteger = false
            pos += 1
            guard let c = current, ("0"..."9").contains(c) else { throw error("expected digits after '.'") }
            while let c = current, ("0"..."9").contains(c) { pos += 1 }
        }
        if current == "e" || current == "E" {
            isInteger = false
            pos += 1
            if current == "+" || current == "-" { pos += 1 }
            guard let c = current, ("0"..."9").contains(c) else { throw error("expected exponent digits") }
            while let c = current, ("0"..."9").contains(c) { pos += 1 }
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars[start..<pos])
        if isInteger, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw error("invalid number '\(text)'") }
        return .double(d)
    }

    mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current, let digit = Int(String(c), radix: 16) else { throw error("invalid \\u escape") }
            v = v * 16 + UInt32(digit)
            pos += 1
        }
        return v
    }

    mutating func string() throws -> String {
        pos += 1  // opening quote
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current else { throw error("unterminated string") }
            pos += 1
            switch c {
            case "\"": return String(out)
            case "\\":
                guard let e = current else { throw error("unterminated escape") }
                pos += 1
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "/": out.append("/")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), current == "\\",
                       pos + 1 < scalars.count, scalars[pos + 1] == "u" {
                        let save = pos
                        pos += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            pos = save
                        }
                    }
                    // Lone surrogates cannot live in a Swift String: use U+FFFD like a lenient decoder.
                    out.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: throw error("invalid escape '\\\(e)'")
                }
            default:
                if c.value < 0x20 { throw error("control character in string") }
                out.append(c)
            }
        }
    }
}
