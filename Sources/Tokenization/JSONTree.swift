import Foundation

/// A minimal JSON tree for reading `tokenizer.json` / `tokenizer_config.json`.
///
/// Why its own reader: `tokenizer.json` of Qwen3.5 is 20 MB (248k vocab entries, 247k merges) and
/// swift-corelibs `JSONSerialization` takes seconds on it and bridges every value through `NSNumber`/`NSString`;
/// this reader works on the UTF-8 bytes directly and keeps object key order. Errors name the byte offset.
enum JSONTree: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONTree])
    case object([(String, JSONTree)])

    subscript(key: String) -> JSONTree? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var array: [JSONTree]? { if case .array(let a) = self { return a }; return nil }
    var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    var int: Int? { if case .number(let d) = self, d == d.rounded(), abs(d) < 1e15 { return Int(d) }; return nil }
    var isNull: Bool { if case .null = self { return true }; return false }
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    struct ParseError: Error, CustomStringConvertible {
        let offset: Int
        let message: String
        var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    static func parse(_ data: Data) throws -> JSONTree {
        try data.withUnsafeBytes { raw in
            var reader = Reader(bytes: raw.bindMemory(to: UInt8.self))
            reader.skipSpace()
            let value = try reader.value(depth: 0)
            reader.skipSpace()
            guard reader.pos == reader.bytes.count else { throw reader.fail("unexpected data after the top-level value") }
            return value
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var pos = 0
        var scratch: [UInt8] = []

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func fail(_ message: String) -> ParseError { ParseError(offset: pos, message: message) }

        mutating func skipSpace() {
            while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 { pos += 1 }
        }

        mutating func expect(_ literal: String, _ value: JSONTree) throws -> JSONTree {
            let n = literal.utf8.count
            guard pos + n <= bytes.count else { throw fail("truncated literal") }
            for (i, c) in literal.utf8.enumerated() where bytes[pos + i] != c { throw fail("invalid literal") }
            pos += n
            return value
        }

        mutating func value(depth: Int) throws -> JSONTree {
            guard depth < 512 else { throw fail("nesting deeper than 512") }
            guard pos < bytes.count else { throw fail("unexpected end of data (truncated file?)") }
            switch bytes[pos] {
            case UInt8(ascii: "{"):
                pos += 1
                var members: [(String, JSONTree)] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let key = try string()
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
                    pos += 1
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unexpected end of data inside an object (truncated file?)") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                    throw fail("expected ',' or '}' in an object")
                }
            case UInt8(ascii: "["):
                pos += 1
                var items: [JSONTree] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unexpected end of data inside an array (truncated file?)") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                    throw fail("expected ',' or ']' in an array")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            default: return try number()
            }
        }

        mutating func number() throws -> JSONTree {
            let start = pos
            while pos < bytes.count, let c = Optional(bytes[pos]),
                  (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { pos += 1 }
            guard pos > start, let d = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self))
            else { pos = start; throw fail("unexpected character") }
            return .number(d)
        }

        /// A string starting at the opening quote. Fast path: no escapes → one UTF-8 validation and copy.
        mutating func string() throws -> String {
            pos += 1
            let start = pos
            while pos < bytes.count {
                let c = bytes[pos]
                if c == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<pos])
                    pos += 1
                    guard let s = String(validating: slice, as: UTF8.self) else { throw ParseError(offset: start, message: "invalid UTF-8 in a string") }
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw fail("control character in a string") }
                pos += 1
            }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<pos]))
            while pos < bytes.count {
                let c = bytes[pos]
                if c == UInt8(ascii: "\"") {
                    pos += 1
                    guard let s = String(validating: scratch, as: UTF8.self) else { throw ParseError(offset: start, message: "invalid UTF-8 in a string") }
                    return s
                }
                if c < 0x20 { throw fail("control character in a string") }
                if c != UInt8(ascii: "\\") { scratch.append(c); pos += 1; continue }
                guard pos + 1 < bytes.count else { break }
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
                    if code >= 0xD800 && code < 0xDC00 {
                        // A high surrogate must pair with a following \uDC00-\uDFFF.
                        if pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                            pos += 2
                            let low = try hex4()
                            guard low >= 0xDC00 && low < 0xE000 else { throw fail("unpaired surrogate escape") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else { throw fail("unpaired surrogate escape") }
                    } else if code >= 0xDC00 && code < 0xE000 { throw fail("unpaired surrogate escape") }
                    scratch.append(contentsOf: String(Character(Unicode.Scalar(code)!)).utf8)
                default: throw fail("invalid escape \\\(Character(Unicode.Scalar(e)))")
                }
            }
            throw ParseError(offset: start, message: "unterminated string (truncated file?)")
        }

        mutating func hex4() throws -> UInt32 {
            guard pos + 4 <= bytes.count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[pos]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x41 + 10
                case 0x61...0x66: d = c - 0x61 + 10
                default: throw fail("invalid \\u escape")
                }
                v = v << 4 | UInt32(d)
                pos += 1
            }
            return v
        }
    }
}
