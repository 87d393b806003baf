import Foundation
import Templating

/// Typed reads of one JSON object of a request body. A missing key or `null` is "not given"; a value of the
/// wrong type is a 400 that names the parameter by its path (`messages[2].content`). Unknown keys are ignored,
/// as OpenAI's API does.
struct FieldReader {
    let members: [(String, JSONValue)]
    let path: String

    init(_ value: JSONValue, path: String) throws {
        guard case .object(let m) = value else {
            throw APIError.invalid("'\(path.isEmpty ? "body" : path)' must be a JSON object.", param: path.isEmpty ? nil : path)
        }
        members = m
        self.path = path
    }

    /// Parses a request body.
    static func body(_ data: Data) throws -> FieldReader {
        let value: JSONValue
        do { value = try JSONValue.parse(data) } catch {
            throw APIError.invalid("The request body is not valid JSON: \(error)")
        }
        return try FieldReader(value, path: "")
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The raw value; nil when absent or null.
    func value(_ key: String) -> JSONValue? {
        guard let v = members.last(where: { $0.0 == key })?.1, !v.isNull else { return nil }
        return v
    }

    func wrongType(_ key: String, _ expected: String) -> APIError {
        .invalid("'\(name(key))' must be \(expected).", param: name(key))
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw wrongType(key, "a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw wrongType(key, "a boolean") }
        return b
    }

    /// An integer (a JSON number without fraction; `2.0` is accepted as 2, as Python clients send it).
    func int(_ key: String, in range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.intValue else { throw wrongType(key, "an integer") }
        if let range, !range.contains(i) {
            throw APIError.invalid("'\(name(key))' = \(i) is out of range: it must be in \(range.lowerBound)...\(range.upperBound).", param: name(key))
        }
        return i
    }

    func number(_ key: String, in range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.doubleValue, d.isFinite else { throw wrongType(key, "a number") }
        if let range, !range.contains(d) {
            throw APIError.invalid("'\(name(key))' = \(d) is out of range: it must be in [\(range.lowerBound), \(range.upperBound)].", param: name(key))
        }
        return d
    }

    func array(_ key: String) throws -> [JSONValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let a) = v else { throw wrongType(key, "an array") }
        return a
    }

    func object(_ key: String) throws -> FieldReader? {
        guard let v = value(key) else { return nil }
        return try FieldReader(v, path: name(key))
    }

    /// A string or an array of strings (`stop`).
    func strings(_ key: String, max: Int) throws -> [String]? {
        guard let v = value(key) else { return nil }
        switch v {
        case .string(let s): return [s]
        case .array(let items):
            guard items.count <= max else {
                throw APIError.invalid("'\(name(key))' has \(items.count) entries; at most \(max) are allowed.", param: name(key))
            }
            return try items.map { item in
                guard case .string(let s) = item else { throw wrongType(key, "a string or an array of strings") }
                return s
            }
        default: throw wrongType(key, "a string or an array of strings")
        }
    }
}
