import Foundation

/// Python methods callable on template values (`s.startswith(...)`, `d.items()`, …).
enum Methods {
    static let stringMethods: Set<String> = [
        "startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "upper", "lower", "replace",
        "find", "rfind", "index", "count", "title", "capitalize", "format", "join", "isdigit", "isalpha",
        "isalnum", "isspace", "isupper", "islower", "splitlines", "swapcase", "casefold", "zfill",
        "removeprefix", "removesuffix", "center", "ljust", "rjust",
    ]
    static let dictMethods: Set<String> = ["items", "keys", "values", "get", "copy", "pop", "update", "setdefault", "clear", "popitem"]
    /// In-place list methods are blocked by transformers' ImmutableSandboxedEnvironment.
    static let listMethods: Set<String> = ["count", "index", "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "copy"]
    static let mutating: Set<String> = ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault", "popitem"]

    /// Python `str.isspace` for one code point (Unicode White_Space plus the ASCII separators).
    static func isPySpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }

    static func strip(_ s: String, _ chars: Value?, leading: Bool, trailing: Bool) throws -> String {
        var u = Array(s.unicodeScalars)
        let set: ((Unicode.Scalar) -> Bool)
        switch chars {
        case nil, .none?: set = isPySpace
        case .string(let cs)?: let cset = Set(cs.unicodeScalars); set = { cset.contains($0) }
        default: throw RuntimeFailure("strip arg must be None or str")
        }
        if trailing { while let last = u.last, set(last) { u.removeLast() } }
        if leading {
            var i = 0
            while i < u.count, set(u[i]) { i += 1 }
            u.removeFirst(i)
        }
        var v = String.UnicodeScalarView(); v.append(contentsOf: u); return String(v)
    }

    /// `str.split(sep=None, maxsplit=-1)` (and `rsplit` with `fromRight`).
    static func split(_ s: String, _ sep: Value?, _ maxsplit: Int, fromRight: Bool) throws -> [String] {
        let scalars = Array(s.unicodeScalars)
        func str(_ r: ArraySlice<Unicode.Scalar>) -> String { var v = String.UnicodeScalarView(); v.append(contentsOf: r); return String(v) }
        switch sep {
        case nil, .none?:
            // Runs of whitespace separate; leading/trailing whitespace is ignored.
            var words: [String] = []
            if !fromRight {
                var i = 0
                while i < scalars.count {
                    while i < scalars.count && isPySpace(scalars[i]) { i += 1 }
                    if i >= scalars.count { break }
                    if maxsplit >= 0 && words.count == maxsplit { words.append(str(scalars[i...])); break }
                    let start = i
                    while i < scalars.count && !isPySpace(scalars[i]) { i += 1 }
                    words.append(str(scalars[start..<i]))
                }
                return words
            }
            var j = scalars.count
            while j > 0 {
                while j > 0 && isPySpace(scalars[j - 1]) { j -= 1 }
                if j == 0 { break }
                if maxsplit >= 0 && words.count == maxsplit { words.append(str(scalars[..<j])); break }
                let end = j
                while j > 0 && !isPySpace(scalars[j - 1]) { j -= 1 }
                words.append(str(scalars[j..<end]))
            }
            return words.reversed()
        case .string(let sepString)?:
            let sepScalars = Array(sepString.unicodeScalars)
            guard !sepScalars.isEmpty else { throw RuntimeFailure("empty separator") }
            var parts: [String] = []
            var matches: [Int] = []
            var i = 0
            while i + sepScalars.count <= scalars.count {
                if scalars[i..<i + sepScalars.count].elementsEqual(sepScalars) { matches.append(i); i += sepScalars.count } else { i += 1 }
            }
            if maxsplit >= 0 && matches.count > maxsplit {
                matches = fromRight ? Array(matches.suffix(maxsplit)) : Array(matches.prefix(maxsplit))
            }
            var start = 0
            for m in matches { parts.append(str(scalars[start..<m])); start = m + sepScalars.count }
            parts.append(str(scalars[start...]))
            return parts
        default:
            throw RuntimeFailure("must be str or None, not \(sep!.typeName)")
        }
    }

    /// Minimal `str.format`: `{}`, `{0}`, `{name}`, `{{`/`}}`.
    /// `str.format`; past `maxBytes` of output an error (`"{0}{0}{0}…".format(big)` multiplies its input).
    static func format(_ s: String, _ args: [Value], _ kwargs: [(String, Value)], maxBytes: Int) throws -> String {
        var out = "", auto = 0
        var it = s.makeIterator()
        while let c = it.next() {
            guard out.utf8.count <= maxBytes else { throw RuntimeFailure("str.format: output would be larger than \(maxBytes) bytes") }
            if c == "{" {
                var field = ""
                var closed = false
                while let d = it.next() {
                    if d == "{" && field.isEmpty { out += "{"; closed = true; field = "\u{0}"; break }
                    if d == "}" { closed = true; break }
                    field.append(d)
                }
                if field == "\u{0}" { continue }
                guard closed else { throw RuntimeFailure("Single '{' encountered in format string") }
                if field.isEmpty {
                    guard auto < args.count else { throw RuntimeFailure("Replacement index \(auto) out of range for positional args tuple") }
                    out += args[auto].str; auto += 1
                } else if let i = Int(field) {
                    guard i >= 0, i < args.count else { throw RuntimeFailure("Replacement index \(i) out of range for positional args tuple") }
                    out += args[i].str
                } else if let v = kwargs.first(where: { $0.0 == field })?.1 {
                    out += v.str
                } else {
                    throw RuntimeFailure("KeyError: '\(field)'")
                }
            } else if c == "}" {
                if let d = it.next(), d == "}" { out += "}" } else { throw RuntimeFailure("Single '}' encountered in format string") }
            } else {
                out.append(c)
            }
        }
        return out
    }
}
