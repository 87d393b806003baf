import Foundation

extension Interpreter {
    /// Dispatches `obj.name(args)`.
    func callMethod(_ obj: Value, _ name: String, _ args: [Value], _ kwargs: [(String, Value)]) throws -> Value {
        func arg(_ i: Int, _ key: String) -> Value? {
            i < args.count ? args[i] : kwargs.first { $0.0 == key }?.1
        }
        func intArg(_ i: Int, _ key: String, _ defaultValue: Int) throws -> Int {
            guard let v = arg(i, key), !v.isNone else { return defaultValue }
            guard let n = v.asInt else { throw RuntimeFailure("'\(v.typeName)' object cannot be interpreted as an integer") }
            return n
        }
        func strArg(_ i: Int, _ key: String) throws -> String {
            guard case .string(let s)? = arg(i, key) else {
                throw RuntimeFailure("\(name)() argument \(i + 1) must be str, not \(arg(i, key)?.typeName ?? "nothing")")
            }
            return s
        }
        if Methods.mutating.contains(name), !obj.isString {
            throw RuntimeFailure("access to attribute '\(name)' of '\(obj.typeName)' object is unsafe.")
        }
        switch obj {
        case .string(let s):
            return try stringMethod(s, name, args, kwargs, arg, intArg, strArg)
        case .dict(let d):
            switch name {
            case "items": return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
            case "keys": return .list(d.keys.map(Value.string))
            case "values": return .list(d.values)
            case "get":
                guard let k = arg(0, "key") else { throw RuntimeFailure("get expected at least 1 argument, got 0") }
                return d[try dictKey(k)] ?? arg(1, "default") ?? .none
            case "copy": return .dict(DictBox(d.pairs))
            default: break
            }
        case .list, .tuple:
            let items = try obj.iterate()
            switch name {
            case "count": return .int(items.filter { pyEqual($0, arg(0, "value") ?? .none) }.count)
            case "index":
                guard let i = items.firstIndex(where: { pyEqual($0, arg(0, "value") ?? .none) }) else {
                    throw RuntimeFailure("\(arg(0, "value")?.repr ?? "None") is not in list")
                }
                return .int(i)
            case "copy": return .list(items)
            default: break
            }
        case .loop(let loop):
            if name == "cycle" {
                guard !args.isEmpty else { throw RuntimeFailure("no items for cycling given") }
                return args[loop.index0 % args.count]
            }
        default: break
        }
        throw RuntimeFailure("'\(obj.typeName)' object has no attribute '\(name)'")
    }

    private func stringMethod(_ s: String, _ name: String, _ args: [Value], _ kwargs: [(String, Value)],
                              _ arg: (Int, String) -> Value?, _ intArg: (Int, String, Int) throws -> Int,
                              _ strArg: (Int, String) throws -> String) throws -> Value {
        let scalars = Array(s.unicodeScalars)
        func fromScalars<C: Collection>(_ c: C) -> String where C.Element == Unicode.Scalar {
            var v = String.UnicodeScalarView(); v.append(contentsOf: c); return String(v)
        }
        switch name {
        case "startswith", "endswith":
            let candidates: [Value]
            switch arg(0, "prefix") {
            case .tuple(let t)?: candidates = t
            case .string?: candidates = [arg(0, "prefix")!]
            default: throw RuntimeFailure("\(name) first arg must be str or a tuple of str")
            }
            let start = try intArg(1, "start", 0), end = try intArg(2, "end", scalars.count)
            let lo = max(0, start < 0 ? start + scalars.count : start), hi = min(scalars.count, end < 0 ? end + scalars.count : end)
            let window = lo <= hi ? Array(scalars[lo..<hi]) : []
            return .bool(candidates.contains { c in
                let p = Array(c.str.unicodeScalars)
                return name == "startswith" ? window.starts(with: p) : window.reversed().starts(with: p.reversed())
            })
        case "split", "rsplit":
            let parts = try Methods.split(s, arg(0, "sep"), try intArg(1, "maxsplit", -1), fromRight: name == "rsplit")
            return .list(parts.map(Value.string))
        case "strip": return .string(try Methods.strip(s, arg(0, "chars"), leading: true, trailing: true))
        case "lstrip": return .string(try Methods.strip(s, arg(0, "chars"), leading: true, trailing: false))
        case "rstrip": return .string(try Methods.strip(s, arg(0, "chars"), leading: false, trailing: true))
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "casefold": return .string(s.lowercased())
        case "swapcase": return .string(String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) }))
        case "title": return .string(Filters.title(s))
        case "capitalize": return .string(Filters.capitalize(s))
        case "replace":
            let old = try strArg(0, "old"), new = try strArg(1, "new")
            let count = try intArg(2, "count", -1)
            return .string(try Filters.replace(s, old, new, count: count, maxBytes: budget.limits.maxOutputBytes))
        case "find", "rfind", "index":
            let sub = Array(try strArg(0, "sub").unicodeScalars)
            var found = -1
            if sub.count <= scalars.count {
                let range = Array(0...(scalars.count - sub.count))
                for i in (name == "rfind" ? range.reversed() : range) where scalars[i..<i + sub.count].elementsEqual(sub) {
                    found = i; break
                }
            }
            if name == "index" && found < 0 { throw RuntimeFailure("substring not found") }
            return .int(found)
        case "count":
            let sub = try strArg(0, "sub")
            if sub.isEmpty { return .int(scalars.count + 1) }
            return .int(try Methods.split(s, .string(sub), -1, fromRight: false).count - 1)
        case "format": return .string(try Methods.format(s, args, kwargs, maxBytes: budget.limits.maxOutputBytes))
        case "join":
            guard let iterable = arg(0, "iterable") else { throw RuntimeFailure("join() takes exactly one argument") }
            return .string(try budget.joined(try iterable.iterate().map { v -> String in
                guard case .string(let t) = v else { throw RuntimeFailure("sequence item: expected str instance, \(v.typeName) found") }
                return t
            }, separator: s))
        case "isdigit": return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
        case "isalpha": return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum": return .bool(!scalars.isEmpty && scalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace": return .bool(!scalars.isEmpty && scalars.allSatisfy(Methods.isPySpace))
        case "isupper": return .bool(s.contains { $0.isCased } && s.uppercased() == s)
        case "islower": return .bool(s.contains { $0.isCased } && s.lowercased() == s)
        case "splitlines":
            var lines = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            return .list(lines.map(Value.string))
        case "zfill":
            let width = try intArg(0, "width", 0)
            let pad = width > scalars.count ? width - scalars.count : 0  // `width - count` overflows for Int.min
            try budget.checkSize(s.utf8.count + pad, "zfill(\(width))")
            if let f = scalars.first, f == "-" || f == "+" {
                return .string(String(f) + String(repeating: "0", count: pad) + fromScalars(scalars.dropFirst()))
            }
            return .string(String(repeating: "0", count: pad) + s)
        case "removeprefix":
            let p = try strArg(0, "prefix")
            return .string(s.hasPrefix(p) && !p.isEmpty ? fromScalars(scalars.dropFirst(p.unicodeScalars.count)) : s)
        case "removesuffix":
            let p = try strArg(0, "suffix")
            return .string(s.hasSuffix(p) && !p.isEmpty ? fromScalars(scalars.dropLast(p.unicodeScalars.count)) : s)
        case "center", "ljust", "rjust":
            let width = try intArg(0, "width", 0)
            let fill = (arg(1, "fillchar")?.str).flatMap { $0.isEmpty ? nil : $0 } ?? " "
            let pad = width > scalars.count ? width - scalars.count : 0  // `width - count` overflows for Int.min
            try budget.checkSize(pad, times: fill.utf8.count, "\(name)(\(width))")
            let left = name == "rjust" ? pad : name == "ljust" ? 0 : pad / 2 + (pad & width & 1)
            return .string(String(repeating: fill, count: left) + s + String(repeating: fill, count: pad - left))
        default: break
        }
        throw RuntimeFailure("'str' object has no attribute '\(name)'")
    }
}
