import Foundation

/// A JSON syntax or policy error with its 1-based position (column counts Unicode scalars).
public struct JSONParseError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public var line: Int
    public var column: Int
    public init(message: String, line: Int, column: Int) {
        self.message = message; self.line = line; self.column = column
    }
    public var description: String { "JSON error at line \(line), column \(column): \(message)" }
}

extension JSONValue {
    /// Parses UTF-8 JSON text (a leading byte-order mark is skipped).
    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { try parse(bytes: $0) }
    }

    /// Parses JSON text; errors name the line and column.
    public static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Parses UTF-8 JSON bytes spanning the whole buffer (surrounding whitespace allowed).
    public static func parse(bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes.bindMemory(to: UInt8.self))
        return try parser.document()
    }
}

/// The reader behind `JSONValue.parse`: works on UTF-8 bytes directly, because `tokenizer.json` is 11 MB and a
/// scalar array or `JSONSerialization` costs seconds there. Policy: RFC 8259 syntax, plus
/// - a duplicate key in an object is an error naming the key (Python keeps the last, serde the first: neither
///   is safe to guess for a request body or a checkpoint header);
/// - `\u` escapes must form valid scalars (a lone surrogate cannot live in a Swift `String`);
/// - integers that do not fit in `Int` stay exact as `.bigInt`; a number beyond `Double` range is an error;
/// - nesting deeper than `maxDepth` is an error instead of a stack overflow.
struct JSONParser {
    static let maxDepth = JSONLimits.maxNestingDepth

    let bytes: UnsafeBufferPointer<UInt8>
    var pos = 0
    private var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func document() throws -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }
        skipWhitespace()
        let value = try self.value(depth: 0)
        skipWhitespace()
        guard pos == bytes.count else { throw error("unexpected data after the top-level value") }
        return value
    }

    /// The error at byte `offset` (default: the current position), with line and column computed only now.
    func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
        let end = min(offset ?? pos, bytes.count)
        var line = 1, column = 1
        for b in bytes[0..<end] {
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return JSONParseError(message: message, line: line, column: column)
    }

    private var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            let c = bytes[pos]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos += 1
        }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard let c = peek else { throw error("unexpected end of input (truncated?)") }
        switch c {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default:
            if c < 0x80 { throw error("unexpected character '\(Character(Unicode.Scalar(c)))'") }
            throw error("unexpected non-ASCII byte 0x\(String(c, radix: 16)) outside a string")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw error("invalid literal, expected '\(word)'") }
        for k in 0..<n where bytes[pos + k] != word.utf8Start[k] { throw error("invalid literal, expected '\(word)'") }
        pos += n
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        pos += 1  // {
        var members: [(String, JSONValue)] = []
        var keys = KeySet()
        skipWhitespace()
        if peek == UInt8(ascii: "}") { pos += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = pos
            let key = try string()
            if !keys.insert(key, index: members.count, members: members) {
                throw error("duplicate key \"\(key)\"", at: keyOffset)
            }
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
            pos += 1
            skipWhitespace()
            members.append((key, try value(depth: depth)))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "}"): pos += 1; return .object(members)
            case nil: throw error("unexpected end of input inside an object (truncated?)")
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        pos += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "]"): pos += 1; return .array(items)
            case nil: throw error("unexpected end of input inside an array (truncated?)")
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    private func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }

    private mutating func number() throws -> JSONValue {
        let start = pos
        let negative = bytes[pos] == UInt8(ascii: "-")
        if negative { pos += 1 }
        guard isDigit(peek) else { throw error("expected a digit") }
        // Integer part, accumulated as a magnitude; more than 19 digits cannot fit in Int.
        var magnitude: UInt64 = 0
        var fits = true
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if isDigit(peek) { throw error("leading zero in a number", at: start) }
        } else {
            while let c = peek, c >= 0x30 && c <= 0x39 {
                let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
                if o1 || o2 { fits = false }
                magnitude = s
                pos += 1
            }
        }
        var isInteger = true
        if peek == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard isDigit(peek) else { throw error("expected a digit after '.'") }
            while isDigit(peek) { pos += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { pos += 1 }
            guard isDigit(peek) else { throw error("expected exponent digits") }
            while isDigit(peek) { pos += 1 }
        }
        if isInteger && fits {
            if !negative, magnitude <= UInt64(Int.max) { return .int(Int(magnitude)) }
            if negative, magnitude <= UInt64(Int.max) + 1 { return .int(magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude)) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        if isInteger { return .bigInt(text) }
        guard let d = Double(text), d.isFinite else { throw error("number out of range: \(text)", at: start) }
        return .double(d)
    }

    /// A string starting at its opening quote. Fast path: no escape → one validation and copy of the bytes.
    private mutating func string() throws -> String {
        let open = pos
        pos += 1
        let start = pos
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return try validated(UnsafeBufferPointer(rebasing: bytes[start..<pos - 1]), start)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("control character in a string") }
            pos += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<pos]))
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return try scratch.withUnsafeBufferPointer { try validated($0, start) }
            }
            if c < 0x20 { throw error("control character in a string") }
            if c != UInt8(ascii: "\\") { scratch.append(c); pos += 1; continue }
            try escape()
        }
        throw error("unterminated string (truncated?)", at: open)
    }

    /// `utf8` as a String, or an error at the first non-ASCII byte when it is not valid UTF-8. Decoding repairs
    /// invalid sequences, so a byte comparison tells them apart; this is much cheaper than the generic
    /// `String(validating:as:)` over the 500k strings of `tokenizer.json`.
    private func validated(_ utf8: UnsafeBufferPointer<UInt8>, _ start: Int) throws -> String {
        let s = String(decoding: utf8, as: UTF8.self)
        let exact = s.utf8.count == utf8.count && s.utf8.withContiguousStorageIfAvailable { decoded in
            utf8.isEmpty || memcmp(decoded.baseAddress!, utf8.baseAddress!, utf8.count) == 0
        } ?? s.utf8.elementsEqual(utf8)
        guard exact else {
            var offset = start
            while offset < pos, Unicode.UTF8.isASCII(bytes[offset]) { offset += 1 }
            throw error("invalid UTF-8 in a string", at: offset)
        }
        return s
    }

    /// One escape sequence at `pos` (the backslash), appended to `scratch` as UTF-8.
    private mutating func escape() throws {
        let at = pos
        guard pos + 1 < bytes.count else { throw error("unterminated escape") }
        let e = bytes[pos + 1]
        pos += 2
        switch e {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var code = try hex4()
            if (0xD800..<0xDC00).contains(code) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw error("unpaired surrogate \\u\(String(code, radix: 16, uppercase: true))", at: at)
                }
                pos += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw error("unpaired surrogate \\u\(String(code, radix: 16, uppercase: true))", at: at)
                }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(code) {
                throw error("unpaired surrogate \\u\(String(code, radix: 16, uppercase: true))", at: at)
            }
            scratch.append(contentsOf: String(Character(Unicode.Scalar(code)!)).utf8)
        default:
            if e < 0x80 { throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: at) }
            throw error("invalid escape", at: at)
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw error("invalid hex digit in a \\u escape")
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }
}
