import Foundation

extension Interpreter {
    func applyFilter(_ name: String, _ value: Value, _ argExprs: [Expr], _ kwargExprs: [(String, Expr)],
                     _ scope: Scope, _ p: SourcePos) throws -> Value {
        guard Filters.names.contains(name) else {
            throw TemplateError(template: templateName, kind: .unknownFilter(name: name, line: p.line, column: p.column))
        }
        let args = try argExprs.map { try eval($0, scope) }
        let kwargs = try kwargExprs.map { ($0.0, try eval($0.1, scope)) }
        return try positioned(p) { try filter(name, value, args, kwargs, p) }
    }

    /// Applies a filter to evaluated arguments (also used by `map('name')`).
    func filter(_ name: String, _ v: Value, _ args: [Value], _ kwargs: [(String, Value)], _ p: SourcePos) throws -> Value {
        func arg(_ i: Int, _ key: String) -> Value? {
            i < args.count ? args[i] : kwargs.first { $0.0 == key }?.1
        }
        func boolArg(_ i: Int, _ key: String, _ d: Bool) -> Bool { arg(i, key)?.truthy ?? d }
        func attrGetter(_ path: Value?) -> (Value) throws -> Value {
            guard let path, !path.isNone else { return { $0 } }
            let parts = path.str.split(separator: ".").map(String.init)
            return { item in
                var cur = item
                for part in parts {
                    cur = try self.getItem(cur, Int(part).map(Value.int) ?? .string(part))
                }
                return cur
            }
        }
        switch name {
        case "tojson":
            // transformers' override: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
            // = json.dumps(x, ...), so no HTML escaping and Python's default separators.
            var indent: String? = nil
            if let i = arg(1, "indent"), !i.isNone {
                if let n = i.asInt {
                    try budget.checkSize(n, "tojson(indent=\(n))")
                    indent = String(repeating: " ", count: max(0, n))
                } else {
                    indent = i.str
                }
            }
            var itemSeparator = indent == nil ? ", " : ",", keySeparator = ": "
            if let seps = arg(2, "separators"), !seps.isNone {
                let pair = try seps.iterate()
                guard pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] else {
                    throw RuntimeFailure("separators must be a (item_separator, key_separator) pair of strings")
                }
                itemSeparator = a; keySeparator = b
            }
            var json = try v.toJSON(maxBytes: budget.limits.maxOutputBytes)
            if boolArg(3, "sort_keys", false) { json = sortKeys(json) }
            var out = ""
            JSONWriter.write(json, into: &out, itemSeparator: itemSeparator, keySeparator: keySeparator, indent: indent)
            if boolArg(0, "ensure_ascii", false) { out = JSONWriter.asciiEscaped(out) }
            return .string(out)
        case "safe": return v
        case "string": return .string(v.str)
        case "escape", "e", "forceescape": return .string(Filters.escapeHTML(v.str))
        case "trim": return .string(try Methods.strip(v.str, arg(0, "chars"), leading: true, trailing: true))
        case "length", "count": return .int(try Filters.length(v))
        case "items":
            switch v {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
            default: throw RuntimeFailure("Can only get item pairs from a mapping.")
            }
        case "list": return .list(try v.iterate())
        case "first":
            return try v.iterate().first ?? .undefined(hint: "No first item, sequence was empty.")
        case "last":
            return try v.iterate().last ?? .undefined(hint: "No last item, sequence was empty.")
        case "reverse":
            if case .string(let s) = v { return .string(String(s.unicodeScalars.reversed().map(Character.init))) }
            return .list(try v.iterate().reversed())
        case "join":
            let get = attrGetter(arg(1, "attribute"))
            return .string(try budget.joined(try v.iterate().map { try get($0).str }, separator: arg(0, "d")?.str ?? ""))
        case "upper": return .string(v.str.uppercased())
        case "lower": return .string(v.str.lowercased())
        case "capitalize": return .string(Filters.capitalize(v.str))
        case "title": return .string(Filters.title(v.str))
        case "center":
            return try callMethod(.string(v.str), "center", [arg(0, "width") ?? .int(80)], [])
        case "replace":
            guard let old = arg(0, "old"), let new = arg(1, "new") else { throw RuntimeFailure("replace() needs old and new") }
            let count = arg(2, "count").flatMap { $0.isNone ? nil : $0.asInt } ?? -1
            return .string(try Filters.replace(v.str, old.str, new.str, count: count, maxBytes: budget.limits.maxOutputBytes))
        case "default", "d":
            let fallback = arg(0, "default_value") ?? .string("")
            if v.isUndefined || (boolArg(1, "boolean", false) && !v.truthy) { return fallback }
            return v
        case "bool": return .bool(v.truthy)
        case "int":
            let fallback = arg(0, "default") ?? .int(0)
            switch v {
            case .int, .bool: return .int(v.asInt!)
            case .bigInt: return v
            case .double(let d): return Filters.truncatedInteger(d) ?? fallback
            case .string(let s):
                let t = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
                let base = arg(1, "base")?.asInt ?? 10
                // Int(_:radix:) traps outside 2...36; Python raises "int() base must be >= 2 and <= 36".
                guard (2...36).contains(base) else { throw RuntimeFailure("int() base must be >= 2 and <= 36, not \(base)") }
                if let i = Int(t, radix: base) { return .int(i) }
                if let d = Double(t), let i = Filters.truncatedInteger(d) { return i }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = arg(0, "default") ?? .double(0)
            switch v {
            case .int, .bool, .double: return .double(v.asDouble!)
            case .bigInt(let digits): return .double(Double(digits)!)
            case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces)).map(Value.double) ?? fallback
            default: return fallback
            }
        case "abs":
            if let i = v.asInt { return i < 0 ? BigIntegers.negate(String(i)) : .int(i) }  // abs(Int.min) > Int.max
            if case .bigInt(let digits) = v { return digits.hasPrefix("-") ? BigIntegers.negate(digits) : v }
            if case .double(let d) = v { return .double(abs(d)) }
            throw RuntimeFailure("bad operand type for abs(): '\(v.typeName)'")
        case "round":
            guard let x = v.asDouble else { throw RuntimeFailure("type \(v.typeName) doesn't define __round__ method") }
            let method = arg(1, "method")?.str ?? "common"
            // Python's round() of an int stays an int.
            if method == "common", let i = v.asInt { return .int(i) }
            return .double(try Filters.round(x, arg(0, "precision")?.asInt ?? 0, method))
        case "map":
            let items = try v.iterate()
            if let attribute = kwargs.first(where: { $0.0 == "attribute" })?.1 {
                let get = attrGetter(attribute)
                let fallback = kwargs.first { $0.0 == "default" }?.1
                return .list(try items.map { item in
                    let r = try get(item)
                    if r.isUndefined, let fallback { return fallback }
                    return r
                })
            }
            guard let fname = args.first?.str else { return .list(items) }
            guard Filters.names.contains(fname) else {
                throw TemplateError(template: templateName, kind: .unknownFilter(name: fname, line: p.line, column: p.column))
            }
            return .list(try items.map { try filter(fname, $0, Array(args.dropFirst()), kwargs, p) })
        case "select", "reject", "selectattr", "rejectattr":
            let byAttr = name.hasSuffix("attr")
            let get = byAttr ? attrGetter(args.first) : { $0 }
            let rest = byAttr ? Array(args.dropFirst()) : args
            let keep = name.hasPrefix("select")
            return .list(try v.iterate().filter { item in
                let x = try get(item)
                guard let tname = rest.first?.str else { return x.truthy == keep }
                guard let test = Tests.table[tname] else {
                    throw TemplateError(template: templateName, kind: .unknownTest(name: tname, line: p.line, column: p.column))
                }
                return try test(x, Array(rest.dropFirst())) == keep
            })
        case "sort":
            let get = attrGetter(arg(2, "attribute"))
            let cs = boolArg(1, "case_sensitive", false)
            return .list(try Filters.sorted(try v.iterate(), reverse: boolArg(0, "reverse", false)) {
                Filters.sortKey(try get($0), caseSensitive: cs)
            })
        case "unique":
            let get = attrGetter(arg(1, "attribute"))
            let cs = boolArg(0, "case_sensitive", false)
            var seen: [Value] = [], out: [Value] = []
            for item in try v.iterate() {
                let k = Filters.sortKey(try get(item), caseSensitive: cs)
                if !seen.contains(where: { pyEqual($0, k) }) { seen.append(k); out.append(item) }
            }
            return .list(out)
        case "dictsort":
            guard case .dict(let d) = v else { throw RuntimeFailure("dictsort filter requires a mapping") }
            let cs = boolArg(0, "case_sensitive", false)
            let byValue = (arg(1, "by")?.str ?? "key") == "value"
            let pairs: [Value] = d.pairs.map { .tuple([.string($0.0), $0.1]) }
            return .list(try Filters.sorted(pairs, reverse: boolArg(2, "reverse", false)) { pair in
                guard case .tuple(let t) = pair else { return pair }
                return Filters.sortKey(byValue ? t[1] : t[0], caseSensitive: cs)
            })
        case "indent":
            let w = arg(0, "width") ?? .int(4)
            // Python: " " * n, so a negative width indents by nothing; the indented text is sized first.
            let text = v.str
            let lines = text.utf8.reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
            try budget.checkSize(text.utf8.count + lines * min(w.asInt ?? w.str.utf8.count, 1 << 32),
                                 "indent(\(w.repr)) of \(lines) lines")
            let width = w.asInt.map { String(repeating: " ", count: max(0, $0)) } ?? w.str
            return .string(Filters.indent(text, width: width, first: boolArg(1, "first", false), blank: boolArg(2, "blank", false)))
        case "wordcount":
            return .int(try Methods.split(v.str, nil, -1, fromRight: false).count)
        case "batch":
            guard let size = arg(0, "linecount")?.asInt, size > 0 else { throw RuntimeFailure("batch size must be positive") }
            let fill = arg(1, "fill_with")
            // The last row is padded to `size` with the fill value: refuse a size no list could hold.
            if let fill, !fill.isNone { try budget.checkSize(size, "batch(\(size), fill_with)") }
            var rows: [Value] = [], row: [Value] = []
            for item in try v.iterate() {
                row.append(item)
                if row.count == size { rows.append(.list(row)); row = [] }
            }
            if !row.isEmpty {
                if let fill, !fill.isNone { row += Array(repeating: fill, count: size - row.count) }
                rows.append(.list(row))
            }
            return .list(rows)
        case "sum":
            let get = attrGetter(arg(0, "attribute"))
            var total = arg(1, "start") ?? .int(0)
            for item in try v.iterate() { total = try Arithmetic.binary("+", total, try get(item), budget: budget) }
            return total
        case "min", "max":
            let cs = boolArg(0, "case_sensitive", false)
            let get = attrGetter(arg(1, "attribute"))
            let items = try Filters.sorted(try v.iterate(), reverse: false) { Filters.sortKey(try get($0), caseSensitive: cs) }
            return (name == "min" ? items.first : items.last) ?? .undefined(hint: "No aggregated item, sequence was empty.")
        case "attr":
            return try getAttribute(v, arg(0, "name")?.str ?? "")
        case "format":
            return .string(try Filters.printf(v.str, args, maxBytes: budget.limits.maxOutputBytes))
        case "pprint":
            return .string(v.repr)
        case "striptags":
            return .string(v.str.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
                .split(whereSeparator: { $0.isWhitespace }).joined(separator: " "))
        case "truncate":
            // Counts are clamped to ±2^32 so `length + leeway` and `length - len(end)` cannot overflow.
            let clamp = { (n: Int) in min(max(n, -(1 << 32)), 1 << 32) }
            let length = clamp(arg(0, "length")?.asInt ?? 255)
            let s = v.str
            let end = arg(2, "end")?.str ?? "..."
            if s.unicodeScalars.count <= length + clamp(arg(4, "leeway")?.asInt ?? 5) { return .string(s) }
            let cut = String(String.UnicodeScalarView(s.unicodeScalars.prefix(max(0, length - end.unicodeScalars.count))))
            if boolArg(1, "killwords", false) { return .string(cut + end) }
            if let space = cut.lastIndex(of: " ") { return .string(String(cut[..<space]) + end) }
            return .string(cut + end)
        default:
            throw TemplateError(template: templateName, kind: .unknownFilter(name: name, line: p.line, column: p.column))
        }
    }

    private func sortKeys(_ j: JSONValue) -> JSONValue {
        switch j {
        case .array(let a): return .array(a.map(sortKeys))
        case .object(let o):
            return .object(o.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) { $0.value < $1.value } }
                .map { ($0.0, sortKeys($0.1)) })
        default: return j
        }
    }
}
