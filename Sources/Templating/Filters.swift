import Foundation

/// jinja2's builtin filters (plus transformers' `tojson`), on evaluated arguments.
enum Filters {
    static let names: Set<String> = [
        "tojson", "safe", "string", "trim", "length", "count", "items", "list", "first", "last", "join",
        "upper", "lower", "capitalize", "title", "replace", "default", "d", "int", "float", "abs", "round",
        "map", "select", "reject", "selectattr", "rejectattr", "sort", "unique", "dictsort", "indent",
        "wordcount", "batch", "escape", "e", "forceescape", "reverse", "sum", "min", "max", "attr", "center",
        "format", "bool", "pprint", "striptags", "truncate",
    ]

    static func capitalize(_ s: String) -> String {
        guard let f = s.unicodeScalars.first else { return s }
        return String(f).uppercased() + String(s.unicodeScalars.dropFirst()).lowercased()
    }

    /// Python `str.title()`: uppercase after a non-cased character, lowercase otherwise.
    static func title(_ s: String) -> String {
        var out = "", prevCased = false
        for c in s {
            out += prevCased ? c.lowercased() : c.uppercased()
            prevCased = c.isCased
        }
        return out
    }

    /// `s.replace(old, new, count)`; a result that would pass `maxBytes` is refused before it is built
    /// (`s.replace("", big)` inserts `big` between every two characters).
    static func replace(_ s: String, _ old: String, _ new: String, count: Int, maxBytes: Int) throws -> String {
        let (sLen, oldLen, newLen) = (s.utf8.count, old.utf8.count, new.utf8.count)
        if newLen > oldLen {
            let most = old.isEmpty ? s.unicodeScalars.count + 1 : sLen / oldLen
            let (grow, overflow) = (count < 0 ? most : min(count, most)).multipliedReportingOverflow(by: newLen - oldLen)
            guard !overflow, sLen + grow <= maxBytes else {
                throw RuntimeFailure("replace: result would be larger than \(maxBytes) bytes")
            }
        }
        if count < 0 { return old.isEmpty ? insertEverywhere(s, new) : s.replacingOccurrences(of: old, with: new) }
        // Matched by code point, like Python; not Foundation's `Substring.range(of:)`, which returned a range
        // outside the substring for a pattern with NULs (a trap; found by the jinja fuzz target).
        let text = Array(s.unicodeScalars), pattern = Array(old.unicodeScalars)
        var out = String.UnicodeScalarView(), i = 0, n = 0
        if pattern.isEmpty {  // Python inserts `new` at each of the len + 1 positions, `count` times at most
            for (k, x) in text.enumerated() {
                if k < count { for y in new.unicodeScalars { out.append(y) } }
                out.append(x)
            }
            if text.count < count { for y in new.unicodeScalars { out.append(y) } }
            return String(out)
        }
        while i < text.count {
            if n < count, i + pattern.count <= text.count, text[i] == pattern[0],
               text[i..<(i + pattern.count)].elementsEqual(pattern) {
                for x in new.unicodeScalars { out.append(x) }
                i += pattern.count
                n += 1
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return String(out)
    }

    private static func insertEverywhere(_ s: String, _ new: String) -> String {
        new + s.unicodeScalars.map { String($0) + new }.joined()
    }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// `len(value)`: code points for strings.
    static func length(_ v: Value) throws -> Int {
        switch v {
        case .undefined: return 0
        case .string(let s): return s.unicodeScalars.count
        case .list(let l): return l.items.count
        case .tuple(let t): return t.count
        case .dict(let d): return d.count
        default: throw RuntimeFailure("object of type '\(v.typeName)' has no len()")
        }
    }

    /// Sort key used by `sort`, `unique`, `dictsort`: strings lowercased unless case-sensitive.
    static func sortKey(_ v: Value, caseSensitive: Bool) -> Value {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    static func sorted(_ items: [Value], reverse: Bool, key: (Value) throws -> Value) throws -> [Value] {
        let keyed = try items.map { (try key($0), $0) }
        var failure: RuntimeFailure?
        // Stable sort (Python's sort is stable), reversal keeps stability like `sorted(reverse=True)`.
        let result = keyed.enumerated().sorted { a, b in
            let (ka, kb) = (a.element.0, b.element.0)
            guard let lt = pyLess(ka, kb), let gt = pyLess(kb, ka) else {
                failure = RuntimeFailure("'<' not supported between instances of '\(ka.typeName)' and '\(kb.typeName)'")
                return a.offset < b.offset
            }
            if reverse ? gt : lt { return true }
            if reverse ? lt : gt { return false }
            return a.offset < b.offset
        }
        if let failure { throw failure }
        return result.map { $0.element.1 }
    }

    /// `round(value, precision, method)` with Python's round-half-even for `common`.
    /// Python `int(float)`: truncation toward zero, exact at any magnitude (nil for inf/nan). `Int(d)` would
    /// trap beyond 2^63 now that release builds keep their checks.
    static func truncatedInteger(_ d: Double) -> Value? {
        guard d.isFinite else { return nil }
        let t = d.rounded(.towardZero)
        if let i = Int(exactly: t) { return .int(i) }
        return BigIntegers.value(String(format: "%.0f", t))  // a whole double prints exactly with %.0f
    }

    static func round(_ x: Double, _ precision: Int, _ method: String) throws -> Double {
        let scale = pow(10.0, Double(precision))
        switch method {
        case "common": return (x * scale).rounded(.toNearestOrEven) / scale
        case "ceil": return (x * scale).rounded(.up) / scale
        case "floor": return (x * scale).rounded(.down) / scale
        default: throw RuntimeFailure("method must be 'common', 'ceil' or 'floor'")
        }
    }

    static func indent(_ s: String, width: String, first: Bool, blank: Bool) -> String {
        var lines = s.components(separatedBy: "\n")
        var trailing = ""
        if s.hasSuffix("\n") { lines.removeLast(); trailing = "\n" }
        var out: [String] = []
        for (i, line) in lines.enumerated() {
            if i == 0 && !first { out.append(line); continue }
            out.append(blank || !line.allSatisfy({ $0.unicodeScalars.allSatisfy(Methods.isPySpace) }) ? width + line : line)
        }
        return out.joined(separator: "\n") + trailing
    }

    /// printf-style `"%s" | format(x)` (only %s, %d, %r, %%).
    /// printf-style `format % args`; past `maxBytes` of output an error (a tuple of many big strings).
    static func printf(_ format: String, _ args: [Value], maxBytes: Int) throws -> String {
        var out = "", i = 0
        var it = format.makeIterator()
        while let c = it.next() {
            guard out.utf8.count <= maxBytes else { throw RuntimeFailure("% format: output would be larger than \(maxBytes) bytes") }
            guard c == "%" else { out.append(c); continue }
            guard let spec = it.next() else { throw RuntimeFailure("incomplete format") }
            if spec == "%" { out += "%"; continue }
            guard i < args.count else { throw RuntimeFailure("not enough arguments for format string") }
            switch spec {
            case "s": out += args[i].str
            case "r": out += args[i].repr
            case "d", "i":
                if case .bigInt(let digits) = args[i] { out += digits; break }
                guard let n = args[i].asInt.map({ String($0) }) ?? args[i].asDouble.flatMap({ truncatedInteger($0)?.repr }) else {
                    throw RuntimeFailure("%d format: a real number is required")
                }
                out += n
            default: throw RuntimeFailure("unsupported format character '\(spec)'")
            }
            i += 1
        }
        return out
    }
}
